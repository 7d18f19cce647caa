using Realtime.LoadTest.Measurement;

namespace Realtime.IntegrationTests.LoadTest;

/// <summary>
/// Smoke runs of loadtest/Realtime.LoadTest (small N, about a second each) against Realtime and the
/// vanilla SignalR baseline, so the tool cannot rot. They check that the figures are sane (every
/// send delivered once), never how fast: targets live in BENCHMARKS.md, not in tests.
/// </summary>
public sealed class LoadTestSmokeTests(LoadTestTargets targets) : IClassFixture<LoadTestTargets>
{
    [Theory]
    [InlineData("realtime", "light")]
    [InlineData("baseline", "light")]
    [InlineData("realtime", "official")]
    [InlineData("baseline", "official")]
    public async Task LatencyRunDeliversEveryAcknowledgedSendExactlyOnce(string target, string client)
    {
        var result = await targets.RunAsync(target, "latency", "-n", "20", "-r", "40", "-d", "0.5", "--warmup", "0", "--client", client);

        AssertConnected(result, 20);
        Assert.True(result["sends answered 2xx"] > 0, result.Describe());
        Assert.Equal(0, result["sends failed"]);
        Assert.Equal(result["sends answered 2xx"], result["deliveries"]);
        Assert.Equal(0, result["not delivered by the end"]);
        Assert.Equal(0, result["duplicated"]);
        Assert.True(result["end-to-end p99 (ms)"] > 0, result.Describe());
    }

    [Theory]
    [InlineData("realtime")]
    [InlineData("baseline")]
    public async Task FanoutRunDeliversEveryBroadcastToEveryConnection(string target)
    {
        var result = await targets.RunAsync(target, "fanout", "-n", "20", "-r", "10", "-d", "0.5", "--warmup", "0");

        AssertConnected(result, 20);
        Assert.True(result["broadcasts answered 2xx"] > 0, result.Describe());
        Assert.Equal(result["broadcasts answered 2xx"] * 20, result["deliveries"]);
        Assert.Equal(0, result["not delivered by the end"]);
        Assert.Equal(0, result["duplicated"]);
        Assert.True(result["deliveries (/s)"] > 0, result.Describe());
    }

    [Fact]
    public async Task ConnectionsRunHoldsHubAndSseConnectionsAndReadsTheServersMemory()
    {
        var result = await targets.RunAsync("realtime", "connections", "-n", "20", "-d", "0.3", "--transport", "mix");

        AssertConnected(result, 20);
        Assert.Equal(20, result["still connected after the hold"]);
        Assert.True(result.Has("server RSS after (MB)"), result.Describe()); // found by port: this test process
    }

    [Fact]
    public async Task ConnectionsPastThePerProcessLimitAreOpenedByWorkerProcessesAndSummed()
    {
        var result = await targets.RunAsync("baseline", "connections", "-n", "20", "--per-process", "10", "-d", "0.3");

        Assert.Equal(3, result["worker processes"]); // a first one opens a fifth (measured), two open the other 16
        AssertConnected(result, 20);
        Assert.Equal(20, result["still connected after the hold"]);
    }

    [Theory]
    [InlineData("realtime")]
    [InlineData("baseline")]
    public async Task SendsRunMeasuresSingleAndBulkSends(string target)
    {
        var result = await targets.RunAsync(target, "sends", "-d", "0.5", "-c", "4", "--bulk", "10", "--warmup", "0");

        Assert.True(result["single: requests (/s)"] > 0, result.Describe());
        Assert.True(result["bulk: notifications (/s)"] > 0, result.Describe());
        Assert.Equal(0, result["single: failed"]);
        Assert.Equal(0, result["bulk: failed"]);
    }

    [Fact]
    public async Task StorageRunMeasuresBytesStoredPerRecipient()
    {
        var result = await targets.RunAsync("realtime", "storage", "--bulk", "10", "--postgres", targets.Database.ConnectionString);

        Assert.Equal(10, result["recipients"]);
        Assert.True(result["bytes stored per recipient"] > 0, result.Describe());
    }

    [Fact]
    public async Task PushRunPushesEverySendToTheLocalFakePushServiceExactlyOnceAndCountsOnlyTheMeasuredOnesAfterItsWarmUp()
    {
        var result = await targets.RunAsync("realtime", "push", "-n", "20", "-r", "40", "-d", "0.5", "--bulk", "10", "--warmup", "0.5");

        Assert.Equal(20, result["subscriptions"]);
        Assert.True(result["pushes expected"] > 0, result.Describe());
        Assert.Equal(result["pushes expected"], result["pushes received"]);
        Assert.Equal(0, result["not pushed by the end"]);
        Assert.Equal(0, result["duplicated"]);
        Assert.True(result["pushes (/s)"] > 0, result.Describe());
    }

    [Fact]
    public async Task PushRunSaysTheBaselineHasNoWebPush()
    {
        var result = await targets.RunAsync("baseline", "push", "-n", "5", "-r", "10", "-d", "0.2", "--warmup", "0");

        Assert.False(result.Has("pushes received"), result.Describe());
        Assert.Contains(result.Notes, n => n.Contains("no Web Push", StringComparison.Ordinal));
    }

    private static void AssertConnected(ScenarioResult result, int connections)
    {
        Assert.Equal(connections, result["connections"]);
        Assert.Equal(0, result["connect errors"]);
    }
}
