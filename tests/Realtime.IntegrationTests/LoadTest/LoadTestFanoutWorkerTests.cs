using Realtime.LoadTest.Measurement;

namespace Realtime.IntegrationTests.LoadTest;

/// <summary>
/// The load test's <c>fanout</c> past <c>--per-process</c> (the fd cap): its clients live in worker
/// processes, the parent broadcasts, waits out the warm-up by their counts and sums their deliveries.
/// </summary>
public sealed class LoadTestFanoutWorkerTests(LoadTestTargets targets) : IClassFixture<LoadTestTargets>
{
    [Theory]
    [InlineData("realtime")]
    [InlineData("baseline")]
    public async Task FanoutWithItsClientsInWorkerProcessesDeliversEveryBroadcastToEveryConnection(string target)
    {
        var result = await targets.RunAsync(target, "fanout", "-n", "20", "--per-process", "8", "-r", "10", "-d", "0.5", "--warmup", "0.3");

        var describe = result.Describe();
        Assert.Equal(3, result["worker processes"]);
        Assert.Equal(20, result["connections"]);
        Assert.Equal(20, result["still connected"]);
        Assert.True(result["broadcasts answered 2xx"] > 0, describe);
        Assert.Equal(result["broadcasts answered 2xx"] * 20, result["deliveries"]); // the warm-up's are not counted
        Assert.Equal(0, result["not delivered by the end"]);
        Assert.Equal(0, result["duplicated"]);
        Assert.True(result["end-to-end p99 (ms)"] > 0, describe);
        Assert.True(result["deliveries (/s)"] > 0, describe);
    }
}
