using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Broadcasts;

/// <summary>Broadcasts are visible to every user, so each test class has a database of its own.</summary>
public sealed class BroadcastTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RealtimeServer Server => fixture.Server;

    private static string NewUser() => "bc-" + Guid.NewGuid().ToString("N")[..12];

    private async Task<long> BroadcastAsync(object body, string? token = null)
    {
        using var client = Server.CreateApiClient(token ?? Server.Tokens.Admin());
        var response = await client.PostAsJsonAsync("/api/broadcasts", body);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    [Fact]
    public async Task OnlyAdminsOrTheBroadcastScopeMayBroadcast()
    {
        var body = new { title = "Maintenance tonight" };
        foreach (var token in new[] { Server.Tokens.User(NewUser()), Server.Tokens.Service() })
        {
            using var client = Server.CreateApiClient(token);
            Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsJsonAsync("/api/broadcasts", body)).StatusCode);
        }
        using var anonymous = Server.CreateApiClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/api/broadcasts", body)).StatusCode);

        await BroadcastAsync(body, Server.Tokens.Admin());
        await BroadcastAsync(body, Server.Tokens.Mint("ops-tool", scope: "notifications:broadcast"));
        await BroadcastAsync(body, Server.Tokens.Mint("ops-admin", extraClaims: new Dictionary<string, object> { ["roles"] = new[] { "admin" } }));
    }

    [Fact]
    public async Task AnInvalidBroadcastNamesTheField()
    {
        using var client = Server.CreateApiClient(Server.Tokens.Admin());
        var response = await client.PostAsJsonAsync("/api/broadcasts", new { title = "", ttlSeconds = 0 });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("title", out _));
        Assert.True(errors.TryGetProperty("ttlSeconds", out _));

        var withRecipients = await client.PostAsJsonAsync("/api/broadcasts", new { title = "x", userIds = new[] { "a" } });
        Assert.Equal(HttpStatusCode.BadRequest, withRecipients.StatusCode);
    }

    [Fact]
    public async Task ABroadcastIsInEveryInboxWithPerUserReadStateAndCounts()
    {
        var alice = NewUser();
        var bob = NewUser();
        var own = await Server.SendAsync(alice, "alice's own");
        var id = await BroadcastAsync(new { title = "Maintenance tonight", body = "22:00 UTC", priority = "high", data = new { window = "2h" } });
        Assert.True(id > own);
        using var aliceInbox = new InboxClient(Server, alice);
        using var bobInbox = new InboxClient(Server, bob);
        using var latecomer = new InboxClient(Server, NewUser()); // never had anything before

        var item = (await bobInbox.ListAsync()).GetProperty("items").EnumerateArray().Single(i => i.GetProperty("id").GetInt64() == id);
        Assert.True(item.GetProperty("broadcast").GetBoolean());
        Assert.Equal(JsonValueKind.Null, item.GetProperty("userId").ValueKind);
        Assert.Equal("system", item.GetProperty("category").GetString());
        Assert.Equal("high", item.GetProperty("priority").GetString());
        Assert.Equal("2h", item.GetProperty("data").GetProperty("window").GetString());
        Assert.Equal([id, own], (await aliceInbox.ListIdsAsync()).Where(i => i == id || i == own));
        Assert.Contains(id, await latecomer.ListIdsAsync());

        var bobBefore = await bobInbox.UnreadCountAsync();
        var aliceBefore = await aliceInbox.UnreadCountAsync();
        Assert.Equal(HttpStatusCode.NoContent, (await bobInbox.MarkReadAsync(id)).StatusCode);
        Assert.Equal(bobBefore - 1, await bobInbox.UnreadCountAsync());
        Assert.Equal(aliceBefore, await aliceInbox.UnreadCountAsync());
        Assert.DoesNotContain(id, await bobInbox.ListIdsAsync("?unread=true"));
        Assert.Contains(id, await aliceInbox.ListIdsAsync("?unread=true"));
        var bobsItem = (await bobInbox.ListAsync()).GetProperty("items").EnumerateArray().Single(i => i.GetProperty("id").GetInt64() == id);
        Assert.Equal(JsonValueKind.String, bobsItem.GetProperty("readAt").ValueKind);

        Assert.Equal(HttpStatusCode.NoContent, (await bobInbox.MarkUnreadAsync(id)).StatusCode);
        Assert.Equal(bobBefore, await bobInbox.UnreadCountAsync());

        Assert.Equal(HttpStatusCode.NoContent, (await aliceInbox.DeleteAsync(id)).StatusCode);
        Assert.DoesNotContain(id, await aliceInbox.ListIdsAsync());
        Assert.Equal(aliceBefore - 1, await aliceInbox.UnreadCountAsync());
        Assert.Contains(id, await bobInbox.ListIdsAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await aliceInbox.MarkReadAsync(id)).StatusCode);
    }

    [Fact]
    public async Task ReadAllCoversBroadcastsUpToTheGivenId()
    {
        var user = NewUser();
        var first = await BroadcastAsync(new { title = "first" });
        var second = await BroadcastAsync(new { title = "second" });
        using var inbox = new InboxClient(Server, user);

        Assert.Equal(HttpStatusCode.NoContent, (await inbox.ReadAllAsync(upTo: first)).StatusCode);
        var unread = await inbox.ListIdsAsync("?unread=true");
        Assert.DoesNotContain(first, unread);
        Assert.Contains(second, unread);

        Assert.Equal(HttpStatusCode.NoContent, (await inbox.ReadAllAsync()).StatusCode);
        Assert.Equal(0, await inbox.UnreadCountAsync());
    }

    [Fact]
    public async Task ABroadcastIsStoredOnceHoweverManyUsersReadTheirInbox()
    {
        await using var connection = await fixture.Database.OpenAsync();
        var broadcastsBefore = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM broadcasts");
        var notificationsBefore = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM notifications");
        var receiptsBefore = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM broadcast_receipts");

        var id = await BroadcastAsync(new { title = "for everyone" });
        for (var i = 0; i < 25; i++)
        {
            using var inbox = new InboxClient(Server, NewUser());
            Assert.Contains(id, await inbox.ListIdsAsync());
            Assert.True(await inbox.UnreadCountAsync() >= 1);
        }

        Assert.Equal(broadcastsBefore + 1, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM broadcasts"));
        Assert.Equal(notificationsBefore, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM notifications"));
        Assert.Equal(receiptsBefore, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM broadcast_receipts"));
    }

    [Fact]
    public async Task ABroadcastGoesLiveToEveryHubAndSseClientAsOneMessage()
    {
        var alice = NewUser();
        var bob = NewUser();
        await using var aliceHub = await Server.ConnectHubAsync(Server.Tokens.User(alice));
        await aliceHub.InvokeAsync("Resume", 0);
        await using var bobStream = await SseTestClient.ConnectAsync(Server.BaseAddress, Server.Tokens.User(bob));
        await bobStream.Retry.WaitAsync(SseTestClient.DefaultTimeout);

        var id = await BroadcastAsync(new { title = "Live notice" });

        var onHub = await aliceHub.WaitForAsync("notification", n => n.GetProperty("id").GetInt64() == id);
        var onSse = await bobStream.NextAsync("notification");
        Assert.Equal(id.ToString(), onSse.Id);
        Assert.True(onHub.GetProperty("broadcast").GetBoolean());
        Assert.Equal(JsonValueKind.Null, onHub.GetProperty("userId").ValueKind);
        Assert.Equal(onHub.GetRawText(), onSse.Json.GetRawText());
        await aliceHub.WaitForAsync("unreadCount");
        await bobStream.NextAsync("unreadCount");
    }

    [Fact]
    public async Task ResumeReplaysBroadcastsInIdOrderWithTheUsersOwnNotifications()
    {
        var user = NewUser();
        var own = await Server.SendAsync(user, "own");
        var broadcast = await BroadcastAsync(new { title = "notice" });
        var ownAgain = await Server.SendAsync(user, "own again");
        await using var hub = await Server.ConnectHubAsync(Server.Tokens.User(user));

        var replayed = (await hub.InvokeAsync("Resume", own - 1)).GetInt32();

        var ids = (await hub.ReceivedAsync("notification", replayed)).Select(n => n.GetProperty("id").GetInt64()).ToList();
        Assert.Equal([own, broadcast, ownAgain], ids.Where(i => i >= own));
    }
}

/// <summary>Expiry moves the clock, so this gets a server (and database) of its own.</summary>
public sealed class BroadcastExpiryTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task AnExpiredBroadcastDisappearsFromEveryInboxAndCount()
    {
        var server = fixture.Server;
        using var admin = server.CreateApiClient(server.Tokens.Admin());
        var response = await admin.PostAsJsonAsync("/api/broadcasts", new { title = "short notice", ttlSeconds = 60 });
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        using var inbox = new InboxClient(server, "someone-" + Guid.NewGuid().ToString("N")[..6]);
        Assert.Contains(id, await inbox.ListIdsAsync());
        Assert.Equal(1, await inbox.UnreadCountAsync());

        server.Time.Advance(TimeSpan.FromSeconds(61));

        Assert.DoesNotContain(id, await inbox.ListIdsAsync());
        Assert.Equal(0, await inbox.UnreadCountAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await inbox.MarkReadAsync(id)).StatusCode);
    }
}
