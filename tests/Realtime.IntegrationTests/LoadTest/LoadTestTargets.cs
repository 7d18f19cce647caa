using Microsoft.AspNetCore.Builder;
using Realtime.Baselines.VanillaSignalR;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.LoadTest;
using Realtime.LoadTest.Measurement;

namespace Realtime.IntegrationTests.LoadTest;

/// <summary>
/// A Realtime node (real Kestrel on loopback, its own database) and the vanilla SignalR baseline
/// (in-process, loopback), both with the test signing key: the two targets of the load test's smoke runs.
/// </summary>
public sealed class LoadTestTargets : IAsyncLifetime
{
    private WebApplication _baseline = null!;

    public TestDatabase Database { get; private set; } = null!;

    public RealtimeServer Realtime { get; private set; } = null!;

    public Uri BaselineUrl { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Database = await TestDatabase.CreateAsync();
        Realtime = await RealtimeServer.StartAsync(Database.ConnectionString, Push.PushFixture.PushSettings()); // the push scenario's sink is on loopback
        _baseline = VanillaSignalRApp.Build(
        [
            "--urls=http://127.0.0.1:0",
            "--Auth:SigningKey=" + TestTokens.DefaultSigningKey,
            "--Auth:Issuer=" + TestTokens.DefaultIssuer,
            "--Auth:Audience=" + TestTokens.DefaultAudience,
            "--ConnectionStrings:Redis=", // one node: not test.sh's Redis from the environment
        ]);
        await _baseline.StartAsync();
        BaselineUrl = new Uri(_baseline.Urls.First());
    }

    /// <summary>Runs the tool's scenario, as its command line <paramref name="args"/> says, against one target.</summary>
    internal async Task<ScenarioResult> RunAsync(string target, params string[] args)
    {
        var url = target == "realtime" ? Realtime.BaseAddress : BaselineUrl;
        var all = args.Concat(
        [
            "--target", $"{target}={url}",
            "--key", TestTokens.DefaultSigningKey, "--issuer", TestTokens.DefaultIssuer, "--audience", TestTokens.DefaultAudience,
            "--quiet",
        ]).ToArray();
        var options = LoadTestOptions.Parse(all);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await LoadTestProgram.RunTargetAsync(options, options.Targets.Single(), all, timeout.Token);
    }

    public async Task DisposeAsync()
    {
        await _baseline.DisposeAsync();
        await Realtime.DisposeAsync();
        await Database.DisposeAsync();
    }
}
