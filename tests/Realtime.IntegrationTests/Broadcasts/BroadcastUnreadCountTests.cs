using System.Net;
using System.Net.Http.Json;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Broadcasts;

/// <summary>Broadcasts of one interval share one unread-count sweep; a database of its own (broadcasts reach everyone).</summary>
public sealed class BroadcastUnreadCountFixture : ServerFixture
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Live:BroadcastUnreadCountInterval"] = Interval.ToString(),
    };
}

public sealed class BroadcastUnreadCountTests(BroadcastUnreadCountFixture fixture) : IClassFixture<BroadcastUnreadCountFixture>
{
    private const int Broadcasts = 5;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private RealtimeServer Server => fixture.Server;

    [Fact]
    public async Task AfterABurstOfBroadcastsTheLastUnreadCountOnHubAndSseIsTheInboxCountAndFewerCountsThanBroadcastsWereSent()
    {
        var alice = "bcu-" + Guid.NewGuid().ToString("N")[..12];
        var bob = "bcu-" + Guid.NewGuid().ToString("N")[..12];
        await Server.SendAsync(alice, "alice's own");
        await using var aliceHub = await Server.ConnectHubAsync(Server.Tokens.User(alice));
        await aliceHub.InvokeAsync("Resume", 0);
        await using var bobStream = await SseTestClient.ConnectAsync(Server.BaseAddress, Server.Tokens.User(bob));
        await bobStream.Retry.WaitAsync(SseTestClient.DefaultTimeout);
        using var aliceInbox = new InboxClient(Server, alice);
        using var bobInbox = new InboxClient(Server, bob);
        var aliceBefore = await aliceInbox.UnreadCountAsync();
        var bobBefore = await bobInbox.UnreadCountAsync();
        var countsBefore = HubCounts(aliceHub).Count;

        using var admin = Server.CreateApiClient(Server.Tokens.Admin());
        var ids = new List<long>();
        for (var i = 0; i < Broadcasts; i++)
        {
            var response = await admin.PostAsJsonAsync("/api/broadcasts", new { title = $"notice {i}" });
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            ids.Add((await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("id").GetInt64());
        }

        Assert.Equal(aliceBefore + Broadcasts, await aliceInbox.UnreadCountAsync());
        Assert.Equal(bobBefore + Broadcasts, await bobInbox.UnreadCountAsync());
        await Eventually.WaitUntilAsync(() => Task.FromResult(HubCounts(aliceHub)), c => c.Count > 0 && c[^1] == aliceBefore + Broadcasts,
            Timeout, "the hub's last unreadCount the inbox's count", c => string.Join(", ", c));
        await Eventually.WaitUntilAsync(() => Task.FromResult(SseCounts(bobStream)), c => c.Count > 0 && c[^1] == bobBefore + Broadcasts,
            Timeout, "the stream's last unreadCount the inbox's count", c => string.Join(", ", c));
        Assert.Equal(ids, aliceHub.Received.Where(m => m.Target == "notification").Select(m => m.Argument.GetProperty("id").GetInt64()).Where(ids.Contains));
        Assert.Equal(ids, bobStream.NotificationIds());
        Assert.InRange(HubCounts(aliceHub).Count - countsBefore, 1, Broadcasts - 1);
    }

    [Fact]
    public async Task AReadBroadcastIsNotCountedInTheCountsSentAfterLaterBroadcasts()
    {
        var user = "bcu-" + Guid.NewGuid().ToString("N")[..12];
        using var admin = Server.CreateApiClient(Server.Tokens.Admin());
        var first = await (await admin.PostAsJsonAsync("/api/broadcasts", new { title = "first" })).Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        using var inbox = new InboxClient(Server, user);
        Assert.Equal(HttpStatusCode.NoContent, (await inbox.MarkReadAsync(first.GetProperty("id").GetInt64())).StatusCode);
        await using var hub = await Server.ConnectHubAsync(Server.Tokens.User(user));
        await hub.InvokeAsync("Resume", 0);

        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/broadcasts", new { title = "second" })).StatusCode);

        var expected = await inbox.UnreadCountAsync();
        await Eventually.WaitUntilAsync(() => Task.FromResult(HubCounts(hub)), c => c.Count > 0 && c[^1] == expected,
            Timeout, $"the hub's last unreadCount {expected}", c => string.Join(", ", c));
    }

    private static List<int> HubCounts(HubClient hub) =>
        hub.Received.Where(m => m.Target == "unreadCount").Select(m => m.Argument.GetProperty("unreadCount").GetInt32()).ToList();

    private static List<int> SseCounts(SseTestClient stream) =>
        stream.All.Where(e => e.Event == "unreadCount").Select(e => e.Json.GetProperty("unreadCount").GetInt32()).ToList();
}
