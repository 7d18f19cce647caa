using Npgsql;

namespace Realtime.IntegrationTests.LoadTest;

/// <summary>
/// Several targets of one invocation share one database (bench.sh): a push run must not leave its
/// subscriptions, on a sink that is gone, for the next target to push to.
/// </summary>
public sealed class PushScenarioRerunTests(LoadTestTargets targets) : IClassFixture<LoadTestTargets>
{
    [Fact]
    public async Task ASecondPushRunOfTheSameRunIdReplacesTheFirstRunsSubscriptionsAndPushesEverything()
    {
        var runId = "rerun" + Guid.NewGuid().ToString("N")[..8];
        string[] args = ["push", "-n", "10", "-r", "20", "-d", "0.5", "--bulk", "5", "--warmup", "0.5", "--run-id", runId, "--postgres", targets.Database.ConnectionString];

        await targets.RunAsync("realtime", args);
        var second = await targets.RunAsync("realtime", args);

        Assert.Equal(second["pushes expected"], second["pushes received"]);
        Assert.Equal(0, second["not pushed by the end"]);
        Assert.Equal(0, second["duplicated"]);
        await using var connection = new NpgsqlConnection(targets.Database.ConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM push_subscriptions WHERE user_id LIKE @Prefix", connection);
        count.Parameters.AddWithValue("Prefix", $"push-{runId}-%");
        Assert.Equal(10L, (long)(await count.ExecuteScalarAsync())!);
    }
}
