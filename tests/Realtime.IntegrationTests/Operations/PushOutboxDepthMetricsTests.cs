using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Operations;

/// <summary><c>realtime_push_outbox_depth</c>: a gauge of the queued push jobs, counted in the background at most every 5 s.</summary>
public sealed class PushOutboxDepthMetricsTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task ThePushOutboxDepthIsAGaugeWhoseCountArrivesWithoutAScrapeWaitingForIt()
    {
        var server = fixture.Server;
        using var client = server.CreateApiClient();

        // The first scrape starts the count and answers the last value (0); a later one has the count.
        var scrape = await Eventually.WaitUntilAsync(async () => PrometheusText.Parse(await client.GetStringAsync("/metrics")),
            s => s.Contains("realtime_push_outbox_depth"), TimeSpan.FromSeconds(10), "the outbox depth to be exposed", interval: TimeSpan.FromMilliseconds(100));

        Assert.Equal("gauge", scrape.TypesByFamily.GetValueOrDefault("realtime_push_outbox_depth"));
        Assert.True(scrape.Sum("realtime_push_outbox_depth") >= 0);
    }
}
