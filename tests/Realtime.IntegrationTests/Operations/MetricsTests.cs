using System.Net;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Operations;

/// <summary>
/// <c>GET /metrics</c>: Prometheus text with the contract's names, moving while notifications flow.
/// Other test classes run nodes in this process at the same time, and OpenTelemetry listens to
/// every meter of that name in the process, so these tests count at least their own traffic.
/// </summary>
public sealed class MetricsTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private RealtimeServer Server => fixture.Server;

    [Fact]
    public async Task TheMetricsEndpointAnswersAnonymouslyInPrometheusTextWithTheContractsNamesAndTypes()
    {
        using var client = Server.CreateApiClient();
        var response = await client.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        var scrape = PrometheusText.Parse(text);
        Assert.Equal("gauge", scrape.TypesByFamily.GetValueOrDefault("realtime_connections"));
        Assert.Equal("counter", TypeOfCounter(scrape, "realtime_notifications_created"));
        Assert.Equal("counter", TypeOfCounter(scrape, "realtime_deliveries"));
        Assert.Equal("counter", TypeOfCounter(scrape, "realtime_push_sent"));
        Assert.True(scrape.Contains("realtime_connections"), "realtime_connections is exposed");
        Assert.Contains(scrape.Samples, s => s.Name == "realtime_connections" && s.Has("transport", "websockets"));
        Assert.True(scrape.Contains("realtime_notifications_created_total"), "realtime_notifications_created_total is exposed");
        Assert.Contains(scrape.Samples, s => s.Name == "realtime_deliveries_total" && s.Has("transport", "sse"));
        Assert.Contains(scrape.Samples, s => s.Name == "realtime_push_sent_total" && s.Has("outcome", "sent"));
        // The runtime's and ASP.NET Core's meters come along.
        Assert.Contains(scrape.Samples, s => s.Name.StartsWith("dotnet_", StringComparison.Ordinal) || s.Name.StartsWith("process_runtime_", StringComparison.Ordinal));
        Assert.Contains(scrape.Samples, s => s.Name.StartsWith("http_server_", StringComparison.Ordinal) || s.Name.StartsWith("kestrel_", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CountersMoveWhileNotificationsAreSentAndDeliveredOverTheHubAndSse()
    {
        const int Count = 5;
        var user = $"metrics-{Guid.NewGuid():N}";
        await using var hub = await Server.ConnectHubAsync(Server.Tokens.User(user));
        await hub.InvokeAsync("Resume", 0);
        await using var sse = await SseTestClient.ConnectAsync(Server.BaseAddress, Server.Tokens.User(user));
        var before = await ScrapeAsync();

        var ids = new List<long>();
        for (var i = 0; i < Count; i++)
        {
            ids.Add(await Server.SendAsync(user, $"metric {i}"));
        }
        Assert.Equal(Count, (await hub.ReceivedAsync("notification", Count)).Count);
        for (var i = 0; i < Count; i++)
        {
            Assert.Equal(ids[i].ToString(System.Globalization.CultureInfo.InvariantCulture), (await sse.NextAsync("notification")).Id);
        }

        // A write is counted just after it went out, so the client may see it a moment before the counter moves.
        var after = await Eventually.WaitUntilAsync(ScrapeAsync,
            scrape => Delta(before, scrape, "realtime_deliveries_total", ("transport", "websockets")) >= Count
                && Delta(before, scrape, "realtime_deliveries_total", ("transport", "sse")) >= Count
                && Delta(before, scrape, "realtime_delivery_latency_seconds_count") >= 2 * Count,
            Timeout, "the delivery counters to move", interval: TimeSpan.FromMilliseconds(100));

        Assert.True(Delta(before, after, "realtime_notifications_created_total") >= Count);
        Assert.True(after.Sum("realtime_connections", ("transport", "websockets")) >= 1);
        Assert.True(after.Sum("realtime_connections", ("transport", "sse")) >= 1);
        Assert.Equal("histogram", after.TypesByFamily.GetValueOrDefault("realtime_delivery_latency_seconds"));
        Assert.Contains(after.Samples, s => s.Name == "realtime_delivery_latency_seconds_bucket" && s.Has("le", "+Inf"));
        Assert.True(Delta(before, after, "realtime_delivery_latency_seconds_sum") >= 0);
        Assert.True(Delta(before, after, "http_server_request_duration_seconds_count") >= Count, "ASP.NET Core's request durations are exposed");
    }

    private async Task<PrometheusText> ScrapeAsync()
    {
        using var client = Server.CreateApiClient();
        var text = await client.GetStringAsync("/metrics");
        return PrometheusText.Parse(text);
    }

    private static double Delta(PrometheusText before, PrometheusText after, string name, params (string, string)[] labels) =>
        after.Sum(name, labels) - before.Sum(name, labels);

    /// <summary>The TYPE of a counter family, whether the exporter names it with or without <c>_total</c>.</summary>
    private static string? TypeOfCounter(PrometheusText scrape, string family) =>
        scrape.TypesByFamily.GetValueOrDefault(family + "_total") ?? scrape.TypesByFamily.GetValueOrDefault(family);
}

public sealed class RestrictedMetricsFixture : ServerFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Metrics:RequireRole"] = "admin" };
}

/// <summary><c>Metrics__RequireRole</c>: the endpoint then asks for a token with that role.</summary>
public sealed class RestrictedMetricsTests(RestrictedMetricsFixture fixture) : IClassFixture<RestrictedMetricsFixture>
{
    [Fact]
    public async Task WithARequiredRoleMetricsRefusesAnonymousAndOtherUsersAndAnswersThatRole()
    {
        var server = fixture.Server;
        using var anonymous = server.CreateApiClient();
        using var user = server.CreateApiClient(server.Tokens.User("someone"));
        using var admin = server.CreateApiClient(server.Tokens.Admin());

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await user.GetAsync("/metrics")).StatusCode);
        var allowed = await admin.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.True(PrometheusText.Parse(await allowed.Content.ReadAsStringAsync()).Contains("realtime_notifications_created_total"));
    }
}
