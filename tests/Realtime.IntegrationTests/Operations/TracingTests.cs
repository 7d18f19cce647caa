using System.Diagnostics;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Operations;

/// <summary>
/// A send is one trace (README "Tracing"): the HTTP request, its commit span under it, the shared
/// transaction (with Npgsql's spans) and every node's delivery span, the request's context having
/// travelled on the bus. Spans are read from OpenTelemetry's in-memory exporter.
/// </summary>
public sealed class TracingTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly Dictionary<string, string?> Tracing = new()
    {
        ["Tracing:Enabled"] = "true",
        // A poll that reads the row between COMMIT and the bus message delivers it untraced (the bus copy is then a
        // duplicate): with the bus up, nothing needs polling here.
        ["Live:IdlePollInterval"] = "01:00:00",
    };
    private readonly CapturedSpans _spans = new();
    private TestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await TestDatabase.CreateAsync();

    public async Task DisposeAsync() => await _database.DisposeAsync();

    [Fact]
    public async Task ASendOverHttpIsOneTraceFromTheRequestThroughTheCommitToTheDelivery()
    {
        await using var node = await StartNodeAsync(Tracing);
        var user = "traced-" + Guid.NewGuid().ToString("N")[..8];
        await using var hub = await node.ConnectHubAsync(node.Tokens.User(user));
        await hub.InvokeAsync("Resume", 0);

        var (id, request) = await SendTracedAsync(node.BaseAddress, node.Tokens.Service(), user);
        await hub.WaitForAsync("notification", n => n.GetProperty("id").GetInt64() == id);

        var trace = await WaitForDeliveriesAsync(request.TraceId, 1);
        var commit = Assert.Single(trace, s => s.OperationName == "realtime.send.commit");
        Assert.Equal(request.SpanId, commit.ParentSpanId);
        var batch = Assert.Single(trace, s => s.OperationName == "realtime.commit.batch");
        Assert.Equal(commit.SpanId, batch.ParentSpanId);
        Assert.Contains(trace, s => s.Source.Name == "Npgsql" && s.ParentSpanId == batch.SpanId);
        var delivery = Assert.Single(trace, s => s.OperationName == "realtime.deliver");
        Assert.Equal(request.SpanId, delivery.ParentSpanId);
        Assert.Equal(id, delivery.GetTagItem("realtime.notification.id"));
        Assert.Equal(1, delivery.GetTagItem("realtime.connections"));
    }

    [Fact]
    public async Task TheTraceContextTravelsThroughRedisSoTheOtherNodesDeliveryJoinsTheTrace()
    {
        var bus = TestRedis.NodeSettings(TestRedis.NewChannelPrefix());
        foreach (var (key, value) in Tracing)
        {
            bus[key] = value;
        }
        await using var a = await StartNodeAsync(bus);
        await using var b = await StartNodeAsync(bus, exportSpans: false); // its spans reach A's exporter too: listeners are process-wide
        var user = "traced-" + Guid.NewGuid().ToString("N")[..8];
        await using var hub = await b.ConnectHubAsync(b.Tokens.User(user));
        await hub.InvokeAsync("Resume", 0);

        var (id, request) = await SendTracedAsync(a.BaseAddress, a.Tokens.Service(), user);
        await hub.WaitForAsync("notification", n => n.GetProperty("id").GetInt64() == id);

        var trace = await WaitForDeliveriesAsync(request.TraceId, 2);
        var deliveries = trace.Where(s => s.OperationName == "realtime.deliver").ToList();
        Assert.All(deliveries, d => Assert.Equal(request.SpanId, d.ParentSpanId));
        // A, which committed it, has no connection of the user; B got it from Redis, with the context decoded from the message.
        var onA = Assert.Single(deliveries, d => !d.HasRemoteParent);
        Assert.Equal(0, onA.GetTagItem("realtime.connections"));
        var onB = Assert.Single(deliveries, d => d.HasRemoteParent);
        Assert.Equal(1, onB.GetTagItem("realtime.connections"));
        Assert.Contains(trace, s => s.OperationName == "realtime.commit.batch");
    }

    private Task<RealtimeServer> StartNodeAsync(Dictionary<string, string?> settings, bool exportSpans = true) =>
        RealtimeServer.StartAsync(_database.ConnectionString, settings, configureServices: exportSpans
            ? services => services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(_spans))
            : null);

    /// <summary>Sends with an <c>X-Correlation-ID</c> of its own and returns the id and the request's server span, found by that tag.</summary>
    private async Task<(long Id, Activity Request)> SendTracedAsync(Uri node, string token, string user)
    {
        using var client = new HttpClient { BaseAddress = node, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        var correlationId = "trace-test-" + Guid.NewGuid().ToString("N");
        using var message = new HttpRequestMessage(HttpMethod.Post, "/api/notifications") { Content = JsonContent.Create(new { userId = user, title = "Traced" }) };
        message.Headers.Add("X-Correlation-ID", correlationId);
        var response = await client.SendAsync(message);
        response.EnsureSuccessStatusCode();
        var sent = await response.Content.ReadFromJsonAsync<RealtimeServer.SendResult>();
        var request = await Eventually.WaitUntilAsync(
            () => Task.FromResult(_spans.Find(s => s.Kind == ActivityKind.Server && Equals(s.GetTagItem("realtime.correlation_id"), correlationId))),
            span => span is not null, Timeout, "the request's span to be exported", _ => "none");
        return (sent!.Notifications.Single().Id, request!);
    }

    /// <summary>The spans of the trace, once <paramref name="deliveries"/> delivery spans are in (a delivery ends after the write is queued).</summary>
    private Task<IReadOnlyList<Activity>> WaitForDeliveriesAsync(ActivityTraceId traceId, int deliveries) =>
        Eventually.WaitUntilAsync(() => Task.FromResult(_spans.InTrace(traceId)),
            trace => trace.Count(s => s.OperationName == "realtime.deliver") >= deliveries, Timeout,
            $"{deliveries} delivery spans in the trace", trace => string.Join(", ", trace.Select(s => $"{s.Source.Name}:{s.OperationName}")));
}
