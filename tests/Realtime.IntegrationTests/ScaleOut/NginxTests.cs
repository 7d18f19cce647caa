using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Realtime.IntegrationTests.Infrastructure;
using Xunit.Abstractions;
using static Realtime.IntegrationTests.Infrastructure.ScaleOutTraffic;
using static Realtime.IntegrationTests.Infrastructure.Eventually;

namespace Realtime.IntegrationTests.ScaleOut;

/// <summary>Two nodes on one Redis channel prefix, and Debian's nginx in front of them with the repository's proxy settings.</summary>
public sealed class NginxFixture : ScaleOutFixture
{
    public NginxProcess Nginx { get; private set; } = null!;

    public Uri Proxy => Nginx.BaseAddress;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Nginx = await NginxProcess.StartAsync(A.BaseAddress, B.BaseAddress);
    }

    public override async Task DisposeAsync()
    {
        await Nginx.DisposeAsync();
        await base.DisposeAsync();
    }
}

/// <summary>
/// The deployment's load balancer (deploy/nginx): through Debian's nginx, configured like
/// deploy/nginx/nginx.conf with deploy/nginx/realtime-locations.conf included as is, the official
/// SignalR flow (negotiate, then long polling on the same connection) works, a WebSocket straight to
/// the hub works, and an SSE stream is not buffered: <c>retry:</c> arrives at once and every
/// notification promptly. Notifications are sent through nginx and straight to each node, so at
/// least one of them crosses nodes whichever node nginx picked.
/// </summary>
public sealed class NginxTests(NginxFixture cluster, ITestOutputHelper output) : IClassFixture<NginxFixture>
{
    /// <summary>"Promptly": an unbuffered proxy passes a small event on at once; a buffering one holds it until its buffer fills or the stream ends.</summary>
    private static readonly TimeSpan Promptly = TimeSpan.FromSeconds(3);

    [Fact]
    public Task TheSignalRNegotiateThenLongPollingFlowThroughNginxReceivesNotifications() => WithDiagnosticsAsync(async () =>
    {
        var user = NewUser("nginx-longpolling");
        var token = TestTokens.Default.User(user);
        using (var http = Client(cluster.Proxy, token))
        {
            var negotiate = await http.PostAsync("/hubs/notifications/negotiate?negotiateVersion=1", null);
            var negotiation = JsonDocument.Parse(await negotiate.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(1, negotiation.GetProperty("negotiateVersion").GetInt32());
            Assert.Contains("LongPolling", negotiation.GetProperty("availableTransports").EnumerateArray().Select(t => t.GetProperty("transport").GetString()));
        }
        await using var client = await HubClient.ConnectAsync(cluster.Proxy, token, HttpTransportType.LongPolling);
        Assert.Equal(0, (await client.InvokeAsync("Resume", 0)).GetInt32());

        var ids = new List<long>();
        foreach (var (via, node) in Targets())
        {
            var id = await SendAsync(node, user, $"Sent {via}");
            var notification = await client.WaitForAsync("notification", n => n.GetProperty("id").GetInt64() == id);
            Assert.Equal(JsonValueKind.Object, notification.ValueKind);
            Assert.Equal(user, notification.GetProperty("userId").GetString());
            Assert.Equal($"Sent {via}", notification.GetProperty("title").GetString());
            ids.Add(id);
        }
        Assert.Equal(ids, IdsOf(user, Notifications(client)));
        Assert.False(client.Closed.IsCompleted, $"the connection closed: {(client.Closed.IsCompleted ? client.Closed.Result : null)}");
        // The node saw a long-polling connection (not some other transport) for this user.
        using var admin = Client(cluster.Proxy, TestTokens.Default.Admin());
        await WaitUntilAsync(
            async () => await admin.GetStringAsync($"/api/admin/presence/{user}"),
            presence => JsonDocument.Parse(presence).RootElement.GetProperty("connections").EnumerateArray()
                .Select(c => c.GetProperty("transport").GetString()).SequenceEqual(["longpolling"]),
            TimeSpan.FromSeconds(5), "one longpolling connection in presence");
    });

    [Fact]
    public Task AWebSocketHubConnectionThroughNginxReceivesNotifications() => WithDiagnosticsAsync(async () =>
    {
        var user = NewUser("nginx-websocket");
        await using var hub = await HubClient.ConnectAsync(cluster.Proxy, TestTokens.Default.User(user));
        await hub.InvokeAsync("Resume", 0);

        var ids = new List<long>();
        foreach (var (via, node) in Targets())
        {
            var id = await SendAsync(node, user, $"Sent {via}");
            var notification = await hub.WaitForAsync("notification", n => n.GetProperty("id").GetInt64() == id);
            Assert.Equal(JsonValueKind.Object, notification.ValueKind);
            Assert.Equal(user, notification.GetProperty("userId").GetString());
            ids.Add(id);
        }
        Assert.Equal(ids, IdsOf(user, Notifications(hub)));
    });

    [Fact]
    public Task AnSseStreamThroughNginxGetsItsRetryAtOnceAndEveryNotificationPromptly() => WithDiagnosticsAsync(async () =>
    {
        var user = NewUser("nginx-sse");
        var clock = Stopwatch.StartNew();
        await using var stream = await SseTestClient.ConnectAsync(cluster.Proxy, TestTokens.Default.User(user));
        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
        Assert.Equal("text/event-stream", stream.Response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(3000, await stream.Retry.WaitAsync(Promptly));
        Assert.True(stream.RetryCameBeforeAnyEvent, "retry: must come before any event");
        output.WriteLine($"retry: after {clock.ElapsedMilliseconds} ms");

        var ids = new List<long>();
        foreach (var (via, node) in Targets())
        {
            var sentAt = clock.Elapsed;
            var id = await SendAsync(node, user, $"Sent {via}");
            var frame = await stream.NextAsync("notification", Promptly);
            Assert.Equal(id.ToString(CultureInfo.InvariantCulture), frame.Id);
            Assert.Equal(user, frame.Json.GetProperty("userId").GetString());
            output.WriteLine($"notification sent {via} arrived {(clock.Elapsed - sentAt).TotalMilliseconds:0} ms after the send began");
            ids.Add(id);
        }
        Assert.Equal(ids, IdsOf(user, Notifications(stream)));
        Assert.False(stream.Ended.IsCompleted, "the stream ended");
    });

    /// <summary>Where each test sends from: through nginx, then straight to A, then straight to B.</summary>
    private IEnumerable<(string Via, Uri Node)> Targets() =>
        [("through nginx", cluster.Proxy), ("on node A", cluster.A.BaseAddress), ("on node B", cluster.B.BaseAddress)];

    private async Task WithDiagnosticsAsync(Func<Task> body)
    {
        try
        {
            await body();
        }
        catch (Exception ex)
        {
            throw new Xunit.Sdk.XunitException($"{ex.GetType().Name}: {ex.Message}\n{cluster.Nginx.Diagnostics}", ex);
        }
    }
}
