using System.Globalization;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.LoadTest;

namespace Realtime.IntegrationTests.LoadTest;

/// <summary>
/// The baseline scaled out as a user would, through SignalR's Redis backplane, run the way
/// <c>BENCH_NODES</c> and <c>BENCH_TWO_NODE</c> run it: the tool starts both nodes (child processes,
/// built beside the tests) from the target's <c>--command</c>, runs the scenario, and stops them.
/// </summary>
public sealed class LoadTestBaselineNodesTests
{
    /// <summary>Every client on the second node, every send to the first: each delivery crosses Redis.</summary>
    [Fact]
    public async Task ASendToOneBaselineNodeReachesTheClientsOfAnotherThroughTheRedisBackplane()
    {
        var (first, second) = (FreePort(), FreePort());

        var result = await RunLatencyAsync($"baseline=http://127.0.0.1:{second},send=http://127.0.0.1:{first}");

        AssertEverySendDeliveredOnce(result);
        Assert.False(await ScaleOutPorts.IsListeningAsync(int.Parse(first, CultureInfo.InvariantCulture)), "the send node is stopped after the run");
        Assert.False(await ScaleOutPorts.IsListeningAsync(int.Parse(second, CultureInfo.InvariantCulture)), "the first node is stopped after the run");
    }

    /// <summary>Clients spread over both nodes (client i on node i mod 2), sends to the first.</summary>
    [Fact]
    public async Task ClientsSpreadOverTwoBaselineNodesReceiveEverySendOfTheFirst()
    {
        var (first, second) = (FreePort(), FreePort());

        var result = await RunLatencyAsync($"baseline=http://127.0.0.1:{first},node=http://127.0.0.1:{second}");

        AssertEverySendDeliveredOnce(result);
        Assert.True(result.Has("all nodes' CPU, measured part (% of a core)"), string.Join(", ", result.Metrics.Select(m => m.Key)));
    }

    private static async Task<Realtime.LoadTest.Measurement.ScenarioResult> RunLatencyAsync(string target)
    {
        var command = string.Join(' ',
            "env",
            $"'ConnectionStrings__Redis={TestRedis.ConnectionString}'",
            $"'Auth__SigningKey={TestTokens.DefaultSigningKey}'",
            $"'Auth__Issuer={TestTokens.DefaultIssuer}'",
            $"'Auth__Audience={TestTokens.DefaultAudience}'",
            "dotnet", $"'{ServerProcess.BaselineDll()}'");
        string[] args =
        [
            "latency", "-n", "20", "-r", "40", "-d", "0.5", "--warmup", "0", "--quiet",
            "--target", target, "--command", "baseline=" + command,
            "--key", TestTokens.DefaultSigningKey, "--issuer", TestTokens.DefaultIssuer, "--audience", TestTokens.DefaultAudience,
        ];
        var options = LoadTestOptions.Parse(args);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        return await LoadTestProgram.RunTargetAsync(options, options.Targets.Single(), args, timeout.Token);
    }

    private static void AssertEverySendDeliveredOnce(Realtime.LoadTest.Measurement.ScenarioResult result)
    {
        var describe = result.Describe();
        Assert.Equal(20, result["connections"]);
        Assert.Equal(0, result["connect errors"]);
        Assert.True(result["sends answered 2xx"] > 0, describe);
        Assert.Equal(0, result["sends failed"]);
        Assert.Equal(result["sends answered 2xx"], result["deliveries"]);
        Assert.Equal(0, result["not delivered by the end"]);
        Assert.Equal(0, result["duplicated"]);
    }

    private static string FreePort() => ScaleOutPorts.FreeLoopbackPort().ToString(CultureInfo.InvariantCulture);
}
