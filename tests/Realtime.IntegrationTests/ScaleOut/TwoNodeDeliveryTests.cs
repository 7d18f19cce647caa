using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Realtime.IntegrationTests.Infrastructure;
using Xunit.Abstractions;
using static Realtime.IntegrationTests.Infrastructure.ScaleOutTraffic;

namespace Realtime.IntegrationTests.ScaleOut;

/// <summary>
/// Two nodes on one database and one Redis channel prefix (DESIGN.md "Every node sees the whole id
/// sequence, in order"): a notification committed on one node reaches the user's connections on
/// the other, exactly once and as an object; broadcasts and read state cross nodes; and a reader
/// that keeps reconnecting, alternating nodes, while senders commit on both, gets every id once,
/// in increasing order on every connection.
/// </summary>
public sealed class TwoNodeDeliveryTests(ScaleOutFixture cluster, ITestOutputHelper output) : IClassFixture<ScaleOutFixture>
{
    private const int Senders = 6;
    private const int SendsPerSender = 60;
    private static readonly TimeSpan ReconnectEvery = TimeSpan.FromMilliseconds(40);

    private RealtimeServer A => cluster.A;
    private RealtimeServer B => cluster.B;

    [Fact]
    public async Task AHubClientOnNodeAReceivesASendMadeOnNodeBOnceAsAJsonObject()
    {
        var user = NewUser("hub-on-a");
        await using var hub = await A.ConnectHubAsync(A.Tokens.User(user));
        await hub.InvokeAsync("Resume", 0);

        var id = await SendAsync(B.BaseAddress, user, "Sent on B");

        var notification = await hub.WaitForAsync("notification", n => n.GetProperty("id").GetInt64() == id);
        Assert.Equal(JsonValueKind.Object, notification.ValueKind);
        Assert.Equal(user, notification.GetProperty("userId").GetString());
        Assert.Equal("Sent on B", notification.GetProperty("title").GetString());
        Assert.False(notification.GetProperty("broadcast").GetBoolean());
        // A later notification (committed on the other node) has arrived: a duplicate would have come before it.
        var marker = await SendAsync(A.BaseAddress, user, "Marker on A");
        await hub.WaitForAsync("notification", n => n.GetProperty("id").GetInt64() == marker);
        Assert.Equal([id, marker], IdsOf(user, Notifications(hub)));
    }

    [Fact]
    public async Task AnSseClientOnNodeBReceivesASendMadeOnNodeA()
    {
        var user = NewUser("sse-on-b");
        await using var stream = await SseTestClient.ConnectAsync(B.BaseAddress, B.Tokens.User(user));
        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
        await stream.Retry.WaitAsync(SseTestClient.DefaultTimeout); // live from here

        var id = await SendAsync(A.BaseAddress, user, "Sent on A");

        var frame = await stream.NextAsync("notification");
        Assert.Equal(id.ToString(CultureInfo.InvariantCulture), frame.Id);
        Assert.Equal(JsonValueKind.Object, frame.Json.ValueKind);
        Assert.Equal(user, frame.Json.GetProperty("userId").GetString());
        Assert.Equal("Sent on A", frame.Json.GetProperty("title").GetString());
        var marker = await SendAsync(B.BaseAddress, user, "Marker on B");
        Assert.Equal(marker.ToString(CultureInfo.InvariantCulture), (await stream.NextAsync("notification")).Id);
        Assert.Equal([id, marker], IdsOf(user, Notifications(stream)));
    }

    [Fact]
    public async Task ABroadcastSentOnNodeAReachesAHubClientOnAAndAnSseClientOnB()
    {
        var onA = NewUser("broadcast-hub");
        var onB = NewUser("broadcast-sse");
        await using var hub = await A.ConnectHubAsync(A.Tokens.User(onA));
        await hub.InvokeAsync("Resume", 0);
        await using var stream = await SseTestClient.ConnectAsync(B.BaseAddress, B.Tokens.User(onB));
        await stream.Retry.WaitAsync(SseTestClient.DefaultTimeout);

        using var admin = A.CreateApiClient(A.Tokens.Admin());
        var response = await admin.PostAsJsonAsync("/api/broadcasts", new { title = "Maintenance tonight", priority = "high" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();

        var onHub = await hub.WaitForAsync("notification", n => n.GetProperty("id").GetInt64() == id);
        Assert.True(onHub.GetProperty("broadcast").GetBoolean());
        Assert.Equal(JsonValueKind.Null, onHub.GetProperty("userId").ValueKind);
        var onSse = await stream.NextAsync("notification");
        Assert.Equal(id.ToString(CultureInfo.InvariantCulture), onSse.Id);
        Assert.True(onSse.Json.GetProperty("broadcast").GetBoolean());
        Assert.Equal("Maintenance tonight", onSse.Json.GetProperty("title").GetString());
    }

    [Fact]
    public async Task AReadOnNodeAReachesTheSameUsersHubTabOnNodeBAsNotificationReadAndUnreadCount()
    {
        var user = NewUser("read-state");
        var id = await SendAsync(A.BaseAddress, user, "Read me");
        await using var tab = await B.ConnectHubAsync(B.Tokens.User(user));
        await tab.InvokeAsync("Resume", 0);
        await tab.WaitForAsync("notification", n => n.GetProperty("id").GetInt64() == id);

        using var inbox = new InboxClient(A, user);
        Assert.Equal(HttpStatusCode.NoContent, (await inbox.MarkReadAsync(id)).StatusCode);
        var unread = await inbox.UnreadCountAsync(); // broadcasts of other tests count too

        var read = await tab.WaitForAsync("notificationRead", e => e.GetProperty("ids").EnumerateArray().Any(i => i.GetInt64() == id));
        Assert.Equal([id], read.GetProperty("ids").EnumerateArray().Select(i => i.GetInt64()));
        Assert.True(read.GetProperty("read").GetBoolean());
        Assert.False(read.GetProperty("all").GetBoolean());
        Assert.Equal(unread, read.GetProperty("unreadCount").GetInt32());
        // Before the read the count was one higher: an unreadCount of this value can only come from the read.
        await tab.WaitForAsync("unreadCount", e => e.GetProperty("unreadCount").GetInt32() == unread);
    }

    /// <summary>The hub reader resumes with Resume, the SSE reader with Last-Event-ID.</summary>
    [Theory]
    [InlineData("hub")]
    [InlineData("SSE")]
    public async Task AReaderAlternatingNodesEvery40MillisecondsGetsEveryIdOnceInIncreasingOrderWhileBothNodesCommit(string transport)
    {
        var user = NewUser($"{transport}-alternating");
        var outcome = await ReconnectingReader.ReadWhileSendingAsync(user,
            pace => SendConcurrentlyAsync(user, [A.BaseAddress, B.BaseAddress], Senders, SendsPerSender, pace), ReconnectEvery,
            ReconnectingReader.Over(transport, index => cluster.Nodes[index % 2], A.Tokens.User(user)));

        Assert.True(outcome.Connections > 4, $"only {outcome.Connections} connections: the test did not exercise reconnecting");
        Assert.Equal(Senders * SendsPerSender, outcome.Sent.Count);
        AssertExactly(outcome.Sent, outcome.Received, $"the {transport} reader ({outcome.Connections} connections)");
        output.WriteLine($"{outcome.Sent.Count} ids over {outcome.Connections} {transport} connections");
    }
}
