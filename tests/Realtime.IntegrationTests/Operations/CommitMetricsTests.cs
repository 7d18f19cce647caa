using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Operations;

/// <summary>
/// The group commit's histograms: notifications per committed transaction and its duration.
/// Other test classes commit in this process too, so the deltas are at least this test's own.
/// </summary>
public sealed class CommitMetricsTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private RealtimeServer Server => fixture.Server;

    [Fact]
    public async Task EveryCommittedTransactionIsCountedWithItsNotificationsAndItsDuration()
    {
        const int Count = 3;
        var user = $"commit-metrics-{Guid.NewGuid():N}";
        var before = await ScrapeAsync();

        for (var i = 0; i < Count; i++)
        {
            await Server.SendAsync(user, $"commit {i}");
        }

        // A send answers once committed; the histograms are recorded just after, so the scrape may lag a moment.
        var after = await Eventually.WaitUntilAsync(ScrapeAsync,
            scrape => Delta(before, scrape, "realtime_commit_batch_size_count") >= 1
                && Delta(before, scrape, "realtime_commit_batch_size_sum") >= Count
                && Delta(before, scrape, "realtime_commit_duration_seconds_count") >= 1,
            Timeout, "the commit histograms to move", interval: TimeSpan.FromMilliseconds(100));

        Assert.Equal("histogram", after.TypesByFamily.GetValueOrDefault("realtime_commit_batch_size"));
        Assert.Equal("histogram", after.TypesByFamily.GetValueOrDefault("realtime_commit_duration_seconds"));
        Assert.Contains(after.Samples, s => s.Name == "realtime_commit_batch_size_bucket" && s.Has("le", "+Inf"));
        Assert.Contains(after.Samples, s => s.Name == "realtime_commit_duration_seconds_bucket" && s.Has("le", "+Inf"));
        Assert.True(Delta(before, after, "realtime_commit_duration_seconds_sum") > 0, "a commit takes some time");
    }

    private async Task<PrometheusText> ScrapeAsync()
    {
        using var client = Server.CreateApiClient();
        return PrometheusText.Parse(await client.GetStringAsync("/metrics"));
    }

    private static double Delta(PrometheusText before, PrometheusText after, string name, params (string, string)[] labels) =>
        after.Sum(name, labels) - before.Sum(name, labels);
}
