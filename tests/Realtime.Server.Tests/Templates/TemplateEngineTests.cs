using System.Text.Json;
using Realtime.Server.Templates;

namespace Realtime.Server.Tests.Templates;

/// <summary>Rendering is plain text and bounded: no HTML encoding, no runaway output, memory or steps.</summary>
public sealed class TemplateEngineTests
{
    // The render clock stands still: only the deadline test below lets time pass, so a loaded
    // machine (a cold time-zone lookup taking 600 ms) cannot fail the others.
    private static readonly TemplateEngine Engine = new(new RenderClock(step: TimeSpan.Zero));

    private static Task<string> RenderAsync(string source, string variables = "{}", int maxLength = 4_000, TemplateEngine? engine = null)
    {
        engine ??= Engine;
        var (parsed, error) = engine.Parse(source);
        Assert.True(parsed is not null, error);
        return engine.RenderAsync(parsed, TemplateEngine.Variables(JsonDocument.Parse(variables).RootElement), maxLength);
    }

    [Fact]
    public async Task TextIsNotHtmlEncoded() =>
        Assert.Equal("Tom & Jerry <3 \"quoted\"", await RenderAsync("{{ a }} <3 {{ b }}", """{ "a": "Tom & Jerry", "b": "\"quoted\"" }"""));

    [Fact]
    public async Task JsonVariablesBecomeLiquidValues() =>
        Assert.Equal("12 a,b b true 2.5", await RenderAsync(
            "{{ order.id }} {{ order.items | join: ',' }} {{ order.items[1] }} {{ ok }} {{ n | plus: 1 }}",
            """{ "order": { "id": 12, "items": ["a", "b"] }, "ok": true, "n": 1.5 }"""));

    [Fact]
    public async Task ANumberBeyondLiquidsDecimalsRendersAsItsJsonText() =>
        Assert.Equal("1e300 -1E+999", await RenderAsync("{{ big }} {{ small }}", """{ "big": 1e300, "small": -1E+999 }"""));

    [Fact]
    public async Task TheTimeZoneFilterTakesIanaIdsButNoPaths()
    {
        Assert.Equal("2026-06-01 14:00", await RenderAsync("{{ '2026-06-01T12:00:00Z' | time_zone: 'Europe/Vienna' | date: '%Y-%m-%d %H:%M' }}"));
        Assert.Equal("2026-06-01 12:00", await RenderAsync("{{ '2026-06-01T12:00:00Z' | time_zone: '../../../etc/passwd' | date: '%Y-%m-%d %H:%M' }}"));
    }

    [Fact]
    public async Task VariableNamesAreCaseSensitive() =>
        Assert.Equal("[]", await RenderAsync("[{{ name }}]", """{ "Name": "Ann" }"""));

    [Fact]
    public async Task OutputStopsOneCharacterPastTheLimit()
    {
        var ex = await Assert.ThrowsAsync<RenderLimitException>(() => RenderAsync("{% for i in (1..100) %}abc{% endfor %}", maxLength: 200));
        Assert.True(ex.OutputTooLong);
        Assert.Equal(new string('x', 200).Length, (await RenderAsync("{% for i in (1..100) %}ab{% endfor %}", maxLength: 200)).Length);
    }

    [Fact]
    public async Task AHugeRangeIsRefusedBeforeItIsBuilt() =>
        Assert.Contains("range", (await Assert.ThrowsAsync<RenderLimitException>(() => RenderAsync("{% for i in (1..2000000000) %}{% endfor %}"))).Message);

    [Fact]
    public async Task AStringDoubledInALoopIsStoppedByTheValueLimit() =>
        await Assert.ThrowsAsync<RenderLimitException>(() => RenderAsync(
            "{% assign s = 'aaaaaaaaaa' %}{% for i in (1..60) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}"));

    [Fact]
    public async Task AListDoubledInALoopIsStoppedByTheItemLimit() =>
        await Assert.ThrowsAsync<RenderLimitException>(() => RenderAsync(
            "{% assign a = 'x,y' | split: ',' %}{% for i in (1..60) %}{% assign a = a | concat: a %}{% endfor %}{{ a | size }}"));

    [Fact]
    public async Task ACaptureDoubledInALoopIsStoppedByTheValueLimit() =>
        await Assert.ThrowsAsync<RenderLimitException>(() => RenderAsync(
            "{% capture s %}ab{% endcapture %}{% for i in (1..60) %}{% capture s %}{{ s }}{{ s }}{% endcapture %}{% endfor %}{{ s | size }}"));

    [Fact]
    public async Task ACaptureStillWorks() =>
        Assert.Equal("Hi Ann!", await RenderAsync("{% capture greeting %}Hi {{ name }}{% endcapture %}{{ greeting }}!", """{ "name": "Ann" }"""));

    [Fact]
    public async Task NestedLoopsStopAtTheStepLimit()
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => RenderAsync(
            "{% for a in (1..999) %}{% for b in (1..999) %}{% endfor %}{% endfor %}"));
        Assert.StartsWith("The maximum level of recursion", ex.Message); // Fluid's words for its step limit too
    }

    [Fact]
    public async Task RenderingStopsOnceItHasTakenLongerThanTheDeadline()
    {
        // Every reading of the clock is 100 ms after the last: a few filters in, the render is past 500 ms.
        var slow = new TemplateEngine(new RenderClock(step: TimeSpan.FromMilliseconds(100)));
        var ex = await Assert.ThrowsAsync<RenderLimitException>(() => RenderAsync("{% for i in (1..20) %}{{ i | plus: 1 }}{% endfor %}", engine: slow));
        Assert.Contains("500 ms", ex.Message);
        Assert.Equal("2", await RenderAsync("{{ 1 | plus: 1 }}", engine: slow));
    }

    /// <summary>A clock whose timestamp moves by <c>step</c> at every reading (zero: it stands still).</summary>
    private sealed class RenderClock(TimeSpan step) : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Add(ref _ticks, step.Ticks);
    }
}
