using System.Net;
using Npgsql;
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
        await using var database = await TestDatabase.CreateAsync();
        var target = new NpgsqlConnectionStringBuilder(database.ConnectionString);
        await using var proxy = new TcpProxy(target.Host!, target.Port);
        proxy.Start();
        await proxy.StopAsync(); // keeps its port: the node starts against a database it cannot reach yet
        var viaProxy = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port };
        await using var server = await RealtimeServer.StartAsync(viaProxy.ConnectionString, waitUntilReady: false);
        using var client = server.CreateApiClient(server.Tokens.User("error-type-" + Guid.NewGuid().ToString("N")[..8]));

        using (var inbox = await client.GetAsync("/api/notifications"))
        {
            await ProblemAssert.IsProblemAsync(inbox, HttpStatusCode.ServiceUnavailable);
        }

        proxy.Start();
        await server.WaitUntilReadyAsync();
        using var scraper = server.CreateApiClient();
        var scrape = PrometheusText.Parse(await scraper.GetStringAsync("/metrics"));
        Assert.True(scrape.Sum("http_server_request_duration_seconds_count", ("error_type", "503")) >= 1,
            "the 503 is counted with error_type=\"503\"");
        Assert.Equal(0, scrape.Sum("http_server_request_duration_seconds_count", ("error_type", "200")));
    }
}
