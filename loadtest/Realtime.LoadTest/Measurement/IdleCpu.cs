using System.Diagnostics;

namespace Realtime.LoadTest.Measurement;

/// <summary>
/// What holding idle connections costs: the server's CPU (from <c>/proc</c>) and the tool's own
/// (its process and its workers) over the hold, after a settling third (at most 5 s) in which the
/// last connections' writes, tiering and GC finish. Per connection per second, so runs of
/// different sizes and lengths compare.
/// </summary>
internal static class IdleCpu
{
    private static readonly TimeSpan MaxSettle = TimeSpan.FromSeconds(5);

    /// <summary>Waits the run's hold (<c>-d</c>) and adds the idle CPU figures to <paramref name="result"/>.</summary>
    public static async Task HoldAsync(ScenarioContext context, int connections, Func<TimeSpan> toolCpu, ScenarioResult result)
    {
        var hold = context.Options.Duration;
        var settle = hold / 3 < MaxSettle ? hold / 3 : MaxSettle;
        await Task.Delay(settle, context.CancellationToken);
        var serverBefore = context.ServerCpu();
        var toolBefore = toolCpu();
        var start = Stopwatch.GetTimestamp();
        await Task.Delay(hold - settle, context.CancellationToken);
        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var perConnectionSecond = 1e6 / Math.Max(1, connections) / Math.Max(0.001, seconds);
        if (serverBefore is { } before && context.ServerCpu() is { } after)
        {
            result.Add("server CPU while idle (% of a core)", (after - before).TotalSeconds / seconds * 100);
            result.Add("server CPU per idle connection (µs/s)", (after - before).TotalSeconds * perConnectionSecond);
        }
        result.Add("tool CPU per idle client (µs/s)", (toolCpu() - toolBefore).TotalSeconds * perConnectionSecond);
    }
}
