using Realtime.LoadTest.Measurement;

namespace Realtime.IntegrationTests.LoadTest;

/// <summary>
/// The connections scenario's memory figures: both servers' managed heap from their <c>/metrics</c>,
/// and the cost per connection added between a fifth of the ramp and its end (fixed costs excluded).
/// Only that the figures are there: how much memory is in BENCHMARKS.md, never in a test.
/// </summary>
public sealed class LoadTestMemoryTests(LoadTestTargets targets) : IClassFixture<LoadTestTargets>
{
    [Theory]
    [InlineData("realtime")]
    [InlineData("baseline")]
    public async Task ConnectionsRunReadsTheManagedHeapAndTheCostPerAddedConnection(string target)
    {
        var result = await targets.RunAsync(target, "connections", "-n", "20", "-d", "0.3");

        Assert.Equal(20, result["still connected after the hold"]);
        Assert.True(result["server managed heap after (MB)"] > 0, result.Describe());
        Assert.True(result.Has("server managed heap per added connection, N/5 to N (KB)"), result.Describe());
        Assert.True(result.Has("server RSS per added connection, N/5 to N (KB)"), result.Describe());
        Assert.True(result.Has("server RSS per connection, (after-before)/N (KB)"), result.Describe());
        Assert.DoesNotContain(result.Notes, n => n.Contains("not measured", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WorkerProcessesOpenAFifthFirstSoTheCostPerAddedConnectionIsMeasuredThereToo()
    {
        var result = await targets.RunAsync("baseline", "connections", "-n", "20", "--per-process", "10", "-d", "0.3");

        Assert.Equal(20, result["connections"]);
        Assert.Equal(20, result["still connected after the hold"]);
        Assert.True(result.Has("server managed heap per added connection, N/5 to N (KB)"), result.Describe());
    }
}
