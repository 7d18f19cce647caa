using System.Net;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;

namespace Realtime.IntegrationTests.Operations;

/// <summary>
/// A 5xx answered without an exception carries its status as <c>error.type</c> on ASP.NET Core's
/// request durations (the semantic conventions). OpenTelemetry's middleware did it from a frame every
/// request kept for its life, hub connections included; the request log's own middleware does it now.
/// </summary>
public sealed class ServerErrorMetricsTests
{
    [Fact]
    public async Task A503WhileTheNodeStartsIsCountedWithItsStatusAsErrorType()
    {
        await using var node = await StartingNode.StartAsync();
        var server = node.Server;
        using var client = server.CreateApiClient(server.Tokens.User("error-type-" + Guid.NewGuid().ToString("N")[..8]));

        using (var inbox = await client.GetAsync("/api/notifications"))
        {
            await ProblemAssert.IsProblemAsync(inbox, HttpStatusCode.ServiceUnavailable);
        }

        node.ReachDatabase();
        await server.WaitUntilReadyAsync();
        using var scraper = server.CreateApiClient();
        var scrape = PrometheusText.Parse(await scraper.GetStringAsync("/metrics"));
        Assert.True(scrape.Sum("http_server_request_duration_seconds_count", ("error_type", "503")) >= 1,
            "the 503 is counted with error_type=\"503\"");
        Assert.Equal(0, scrape.Sum("http_server_request_duration_seconds_count", ("error_type", "200")));
    }
}
