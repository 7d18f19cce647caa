using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Collapse;

/// <summary>
/// Collapse keys (API.md, "Collapse keys"): a new notification replaces the recipient's older
/// unread one with the same key in the same transaction; read ones stay as history; the unread
/// count does not grow; live clients get notificationDeleted for the old id, then the new one.
/// </summary>
public sealed class CollapseKeyTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RealtimeServer Server => fixture.Server;

    private static string NewUser() => "collapse-" + Guid.NewGuid().ToString("N")[..12];

    private Task<long> SendAsync(string user, string title, string? collapseKey) =>
        Server.SendAsync(user, title, new { collapseKey });

    [Fact]
    public async Task ANewNotificationReplacesTheOlderUnreadOneWithTheSameKey()
    {
        var user = NewUser();
        var unrelated = await SendAsync(user, "Unrelated", null);
        var first = await SendAsync(user, "2 new messages", "chat-42");
        var otherKey = await SendAsync(user, "Other thread", "chat-43");
        var second = await SendAsync(user, "3 new messages", "chat-42");

        using var inbox = new InboxClient(Server, user);
        var page = await inbox.ListAsync();
        var items = page.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal([second, otherKey, unrelated], items.Select(n => n.GetProperty("id").GetInt64()));
        Assert.Equal("chat-42", items[0].GetProperty("collapseKey").GetString());
        Assert.Equal("3 new messages", items[0].GetProperty("title").GetString());
        Assert.Equal(JsonValueKind.Null, items[2].GetProperty("collapseKey").ValueKind);
        Assert.Equal(3, page.GetProperty("unreadCount").GetInt32());
        Assert.Equal(3, await inbox.UnreadCountAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await inbox.MarkReadAsync(first)).StatusCode);
    }

    [Fact]
    public async Task AReadNotificationIsKeptAsHistory()
    {
        var user = NewUser();
        var first = await SendAsync(user, "Order packed", "order-7");
        using var inbox = new InboxClient(Server, user);
        Assert.Equal(HttpStatusCode.NoContent, (await inbox.MarkReadAsync(first)).StatusCode);

        var second = await SendAsync(user, "Order shipped", "order-7");

        Assert.Equal([second, first], await inbox.ListIdsAsync());
        Assert.Equal(1, await inbox.UnreadCountAsync());
    }

    [Fact]
    public async Task KeysAreScopedToTheRecipient()
    {
        var alice = NewUser();
        var bob = NewUser();
        var forAlice = await SendAsync(alice, "For Alice", "shared-key");
        var forBob = await SendAsync(bob, "For Bob", "shared-key");

        using var aliceInbox = new InboxClient(Server, alice);
        using var bobInbox = new InboxClient(Server, bob);
        Assert.Equal([forAlice], await aliceInbox.ListIdsAsync());
        Assert.Equal([forBob], await bobInbox.ListIdsAsync());
    }

    [Fact]
    public async Task ABulkSendReplacesEachRecipientsOwnOlderOne()
    {
        var users = Enumerable.Range(0, 5).Select(_ => NewUser()).ToArray();
        foreach (var user in users)
        {
            await SendAsync(user, "Old", "digest");
        }
        using var client = Server.CreateApiClient(Server.Tokens.Service());
        var response = await client.PostAsJsonAsync("/api/notifications", new { userIds = users, title = "New", collapseKey = "digest" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = (await response.Content.ReadFromJsonAsync<RealtimeServer.SendResult>())!.Notifications;

        foreach (var user in users)
        {
            using var inbox = new InboxClient(Server, user);
            Assert.Equal([created.Single(n => n.UserId == user).Id], await inbox.ListIdsAsync());
            Assert.Equal(1, await inbox.UnreadCountAsync());
        }
    }

    [Fact]
    public async Task ConcurrentSendsWithOneKeyLeaveExactlyOneUnread()
    {
        var user = NewUser();
        var sends = Enumerable.Range(0, 24).Select(i => SendAsync(user, $"Update {i}", "race")).ToList();
        var ids = await Task.WhenAll(sends);

        using var inbox = new InboxClient(Server, user);
        var left = await inbox.ListIdsAsync();
        Assert.Equal([ids.Max()], left);
        Assert.Equal(1, await inbox.UnreadCountAsync());
    }

    [Fact]
    public async Task LiveClientsGetNotificationDeletedForTheOldIdThenTheNewNotification()
    {
        var user = NewUser();
        await using var hub = await Server.ConnectHubAsync(Server.Tokens.User(user));
        await using var sse = await SseTestClient.ConnectAsync(Server.BaseAddress, Server.Tokens.User(user), lastEventId: "0");
        await hub.InvokeAsync("Resume", 0);
        var first = await SendAsync(user, "1 new message", "thread-1");
        await hub.WaitForAsync("notification", n => n.GetProperty("id").GetInt64() == first);
        await sse.NextAsync("notification");

        var second = await SendAsync(user, "2 new messages", "thread-1");

        await hub.WaitForAsync("notification", n => n.GetProperty("id").GetInt64() == second);
        var received = hub.Received.Where(m => m.Target is "notification" or "notificationDeleted").ToList();
        var deleted = received.FindIndex(m => m.Target == "notificationDeleted");
        Assert.True(deleted >= 0, string.Join(", ", received));
        Assert.Equal([first], received[deleted].Argument.GetProperty("ids").EnumerateArray().Select(i => i.GetInt64()));
        Assert.Equal(1, received[deleted].Argument.GetProperty("unreadCount").GetInt32());
        Assert.Equal(second, received[deleted + 1].Argument.GetProperty("id").GetInt64());

        var sseDeleted = await sse.NextAsync("notificationDeleted");
        Assert.Equal(first, sseDeleted.Json.GetProperty("ids")[0].GetInt64());
        var next = await sse.NextAsync("notification");
        Assert.Equal(second.ToString(System.Globalization.CultureInfo.InvariantCulture), next.Id);
        var unread = await hub.WaitForAsync("unreadCount", c => c.GetProperty("unreadCount").GetInt32() == 1);
        Assert.Equal(1, unread.GetProperty("unreadCount").GetInt32());
    }

    [Fact]
    public async Task AResumeAfterACollapseReplaysOnlyTheNewNotification()
    {
        var user = NewUser();
        var before = await SendAsync(user, "Before", null);
        await SendAsync(user, "Old", "k");
        var replacement = await SendAsync(user, "New", "k");

        await using var hub = await Server.ConnectHubAsync(Server.Tokens.User(user));
        Assert.Equal(2, (await hub.InvokeAsync("Resume", 0)).GetInt32());
        var replayed = await hub.ReceivedAsync("notification", 2);
        Assert.Equal([before, replacement], replayed.Select(n => n.GetProperty("id").GetInt64()));
    }

    [Fact]
    public async Task AnIdempotentRetryOfACollapsingSendChangesNothing()
    {
        var user = NewUser();
        using var client = Server.CreateApiClient(Server.Tokens.Service());
        var body = new { userId = user, title = "Digest", collapseKey = "digest", idempotencyKey = "digest-" + user };
        var first = await client.PostAsJsonAsync("/api/notifications", body);
        var retry = await client.PostAsJsonAsync("/api/notifications", body);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);

        var conflicting = await client.PostAsJsonAsync("/api/notifications", body with { collapseKey = "other" });
        Assert.Equal(HttpStatusCode.Conflict, conflicting.StatusCode);

        using var inbox = new InboxClient(Server, user);
        Assert.Single(await inbox.ListIdsAsync());
    }

    [Theory]
    [InlineData("\"\"", "must not be empty")]
    [InlineData("\"a\\u0000b\"", "NUL")]
    [InlineData("\"\\ud800\"", null)]
    [InlineData("42", null)]
    public async Task ABadCollapseKeyIsRefusedNamingTheField(string json, string? message)
    {
        using var client = Server.CreateApiClient(Server.Tokens.Service());
        using var content = new StringContent($$"""{"userId":"{{NewUser()}}","title":"t","collapseKey":{{json}}}""", System.Text.Encoding.UTF8, "application/json");
        var response = await client.PostAsync("/api/notifications", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty("collapseKey", out var field) || errors.TryGetProperty("$.collapseKey", out field), problem.GetRawText());
        if (message is not null)
        {
            Assert.Contains(message, field[0].GetString());
        }
    }

    [Fact]
    public async Task ACollapseKeyOverOneHundredCharactersIsRefused()
    {
        using var client = Server.CreateApiClient(Server.Tokens.Service());
        var response = await client.PostAsJsonAsync("/api/notifications", new { userId = NewUser(), title = "t", collapseKey = new string('k', 101) });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty("collapseKey", out _), problem.GetRawText());
    }

    [Fact]
    public async Task BroadcastsTakeNoCollapseKey()
    {
        using var client = Server.CreateApiClient(Server.Tokens.Admin());
        var response = await client.PostAsJsonAsync("/api/broadcasts", new { title = "Maintenance", collapseKey = "maintenance" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty("collapseKey", out _), problem.GetRawText());
    }
}
