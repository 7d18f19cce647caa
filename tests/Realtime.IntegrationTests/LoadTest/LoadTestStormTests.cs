using System.Globalization;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.LoadTest;
using Realtime.LoadTest.Scenarios;

namespace Realtime.IntegrationTests.LoadTest;

/// <summary>
/// A smoke run of the load test's <c>storm</c>: the tool starts a real Realtime node (a child
/// process, built beside the tests), connects clients, SIGKILLs the node, starts it again, and the
/// clients come back and resume with nothing lost and nothing twice. The same storm against the
/// vanilla SignalR baseline (resume=none) brings every client back and counts what the baseline
/// acknowledged and never delivered instead.
/// </summary>
public sealed class LoadTestStormTests
{
    [Fact]
    public Task StormRunBringsEveryClientBackWithNothingLostOrDuplicated() => StormAsync();

    /// <summary>Past --per-process the clients live in worker processes (the fd cap); the parent sums what they saw.</summary>
    [Fact]
    public Task StormRunWithItsClientsInWorkerProcessesCountsEveryClientAndEveryDelivery() => StormAsync("--per-process", "8");

    private static async Task StormAsync(params string[] extra)
    {
        await using var database = await TestDatabase.CreateAsync();
        var port = ScaleOutPorts.FreeLoopbackPort().ToString(CultureInfo.InvariantCulture);
        var command = string.Join(' ',
            "env -u ConnectionStrings__Redis",
            $"'ConnectionStrings__Postgres={database.ConnectionString}'",
            $"'Auth__SigningKey={TestTokens.DefaultSigningKey}'",
            $"'Auth__Issuer={TestTokens.DefaultIssuer}'",
            $"'Auth__Audience={TestTokens.DefaultAudience}'",
            "RateLimits__SendsPerSecond=0 RateLimits__UserRequestsPerSecond=0 RateLimits__HubInvocationsPerSecond=0 RateLimits__AnonymousRequestsPerSecond=0",
            "Serilog__MinimumLevel__Default=Warning",
            "dotnet", $"'{ServerProcess.ServerDll()}'");
        var result = await RunStormAsync($"realtime=http://127.0.0.1:{port}", "realtime=" + command, extra);

        Assert.Equal(20, result["connections"]);
        Assert.Equal(20, result[StormScenario.BackRow]);
        Assert.True(result["sends acknowledged"] > 0, result.Describe());
        Assert.Equal(0, result["lost"]);
        Assert.Equal(0, result["duplicated"]);
    }

    /// <summary>A 20-client storm against one target the tool starts from <paramref name="command"/>.</summary>
    private static async Task<Realtime.LoadTest.Measurement.ScenarioResult> RunStormAsync(string target, string command, params string[] extra)
    {
        string[] args =
        [
            "storm", "-n", "20", "-r", "40", "-d", "1", "--drain", "5", "--quiet",
            "--target", target, "--command", command,
            "--key", TestTokens.DefaultSigningKey, "--issuer", TestTokens.DefaultIssuer, "--audience", TestTokens.DefaultAudience,
            .. extra,
        ];
        var options = LoadTestOptions.Parse(args);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));

        return await LoadTestProgram.RunTargetAsync(options, options.Targets.Single(), args, timeout.Token);
    }

    /// <summary>
    /// The baseline keeps nothing: its clients come back and its Resume is answered, and what it
    /// acknowledged while they were away is counted under rows of its own, never as Realtime's "lost".
    /// </summary>
    [Fact]
    public async Task StormRunAgainstTheBaselineBringsEveryClientBackAndCountsWhatItNeverDelivered()
    {
        var port = ScaleOutPorts.FreeLoopbackPort().ToString(CultureInfo.InvariantCulture);
        var command = string.Join(' ',
            "env",
            $"'Auth__SigningKey={TestTokens.DefaultSigningKey}'",
            $"'Auth__Issuer={TestTokens.DefaultIssuer}'",
            $"'Auth__Audience={TestTokens.DefaultAudience}'",
            "dotnet", $"'{ServerProcess.BaselineDll()}'");
        var result = await RunStormAsync($"baseline=http://127.0.0.1:{port},resume=none", "baseline=" + command);

        Assert.Equal(20, result["connections"]);
        Assert.Equal(20, result[StormScenario.BackRow]);
        Assert.True(result["sends acknowledged"] > 0, result.Describe());
        Assert.False(result.Has(StormScenario.LostRow), result.Describe());
        Assert.True(result.Has(StormScenario.NeverDeliveredRow), result.Describe());
        Assert.InRange(result[StormScenario.NeverDeliveredRow], 0, result["deliveries acknowledged"]);
        Assert.Equal(0, result["duplicated"]);
    }
}
