using Microsoft.AspNetCore.SignalR;
using System.Net;
using System.Text.Json;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Live;

public sealed class HubTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RealtimeServer Server => fixture.Server;

    private static string NewUser() => "hub-" + Guid.NewGuid().ToString("N")[..12];

    private Task<HubClient> ConnectAsync(string userId) => Server.ConnectHubAsync(Server.Tokens.User(userId));

    private static long Id(JsonElement notification) => notification.GetProperty("id").GetInt64();

    [Fact]
    public async Task ANotificationArrivesLiveAsAJsonObjectWithEveryField()
    {
        var user = NewUser();
        await using var hub = await ConnectAsync(user);
        Assert.Equal(0, (await hub.InvokeAsync("Resume", 0)).GetInt32());

        var id = await Server.SendAsync(user, "Your order shipped", new { body = "On its way", data = new { orderId = "123" }, link = "https://shop.example/o/123", priority = "high", category = "order.shipped" });

        var notification = await hub.WaitForAsync("notification");
        Assert.Equal(JsonValueKind.Object, notification.ValueKind);
        Assert.Equal(id, Id(notification));
        Assert.Equal(user, notification.GetProperty("userId").GetString());
        Assert.Equal("Your order shipped", notification.GetProperty("title").GetString());
        Assert.Equal("On its way", notification.GetProperty("body").GetString());
        Assert.Equal("123", notification.GetProperty("data").GetProperty("orderId").GetString());
        Assert.Equal("high", notification.GetProperty("priority").GetString());
        Assert.False(notification.GetProperty("broadcast").GetBoolean());
        Assert.Equal(JsonValueKind.Null, notification.GetProperty("readAt").ValueKind);
        Assert.Equal(JsonValueKind.Null, notification.GetProperty("expiresAt").ValueKind);
        Assert.Equal(
            ["id", "userId", "category", "title", "body", "data", "link", "priority", "broadcast", "createdAt", "expiresAt", "readAt", "collapseKey"],
            notification.EnumerateObject().Select(p => p.Name));

        var unread = await hub.WaitForAsync("unreadCount", c => c.GetProperty("unreadCount").GetInt32() == 1);
        Assert.Equal(1, unread.GetProperty("unreadCount").GetInt32());
    }

    [Fact]
    public async Task TheLiveNotificationEqualsTheInboxItem()
    {
        var user = NewUser();
        await using var hub = await ConnectAsync(user);
        await hub.InvokeAsync("Resume", 0);
        await Server.SendAsync(user, "Same everywhere", new { data = new { a = 1 }, ttlSeconds = 3600 });

        var live = await hub.WaitForAsync("notification");
        using var inbox = new InboxClient(Server, user);
        var stored = (await inbox.ListAsync()).GetProperty("items")[0];

        Assert.Equal(stored.GetProperty("createdAt").GetString(), live.GetProperty("createdAt").GetString());
        Assert.Equal(stored.GetProperty("expiresAt").GetString(), live.GetProperty("expiresAt").GetString());
        Assert.Equal(stored.GetProperty("data").GetProperty("a").GetInt32(), live.GetProperty("data").GetProperty("a").GetInt32());
    }

    [Fact]
    public async Task EveryOpenTabOfAUserGetsEveryNotificationAndNobodyElseDoes()
    {
        var user = NewUser();
        var other = NewUser();
        await using var tab1 = await ConnectAsync(user);
        await using var tab2 = await ConnectAsync(user);
        await using var stranger = await ConnectAsync(other);
        foreach (var hub in new[] { tab1, tab2, stranger })
        {
            await hub.InvokeAsync("Resume", 0);
        }

        var ids = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await Server.SendAsync(user, $"n{i}"));
        }
        var strangersOwn = await Server.SendAsync(other, "for the stranger");

        foreach (var tab in new[] { tab1, tab2 })
        {
            var received = new List<long>();
            for (var i = 0; i < ids.Count; i++)
            {
                received.Add(Id((await tab.NextAsync("notification")).Argument));
            }
            Assert.Equal(ids, received);
        }
        Assert.Equal(strangersOwn, Id((await stranger.NextAsync("notification")).Argument));
        Assert.DoesNotContain(stranger.Received, m => m.Target == "notification" && ids.Contains(Id(m.Argument)));
    }

    [Fact]
    public async Task ResumeReplaysEverythingAfterTheCursorInIdOrderAndReturnsTheCount()
    {
        var user = NewUser();
        var ids = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await Server.SendAsync(user, $"n{i}"));
        }
        await using var hub = await ConnectAsync(user);

        var replayed = await hub.InvokeAsync("Resume", ids[1]);

        Assert.Equal(3, replayed.GetInt32());
        Assert.Equal(ids.Skip(2), (await hub.ReceivedAsync("notification", 3)).Select(Id));
        var count = await hub.WaitForAsync("unreadCount");
        Assert.Equal(5, count.GetProperty("unreadCount").GetInt32());
    }

    [Fact]
    public async Task ResumeFromZeroReplaysTheWholeInboxButNothingDeleted()
    {
        var user = NewUser();
        var kept = await Server.SendAsync(user, "kept");
        var deleted = await Server.SendAsync(user, "deleted");
        using (var inbox = new InboxClient(Server, user))
        {
            Assert.Equal(HttpStatusCode.NoContent, (await inbox.DeleteAsync(deleted)).StatusCode);
        }
        await using var hub = await ConnectAsync(user);

        Assert.Equal(1, (await hub.InvokeAsync("Resume", 0)).GetInt32());
        Assert.Equal([kept], (await hub.ReceivedAsync("notification", 1)).Select(Id));
    }

    [Fact]
    public async Task ASecondResumeNeverRepeatsWhatThisConnectionWasSent()
    {
        var user = NewUser();
        var before = await Server.SendAsync(user, "before connecting");
        await using var hub = await ConnectAsync(user);
        Assert.Equal(1, (await hub.InvokeAsync("Resume", 0)).GetInt32());
        var live = await Server.SendAsync(user, "live");
        await hub.WaitForAsync("notification", n => Id(n) == live);

        Assert.Equal(0, (await hub.InvokeAsync("Resume", 0)).GetInt32());
        var after = await Server.SendAsync(user, "after");
        await hub.WaitForAsync("notification", n => Id(n) == after);

        Assert.Equal([before, live, after], hub.Received.Where(m => m.Target == "notification").Select(m => Id(m.Argument)));
    }

    [Fact]
    public async Task LiveMessagesAreHeldUntilTheFirstResumeSoIdsNeverGoBackwards()
    {
        var user = NewUser();
        var missed = await Server.SendAsync(user, "missed while offline");
        await using var hub = await ConnectAsync(user);
        var live = await Server.SendAsync(user, "live before resume");

        Assert.Equal(2, (await hub.InvokeAsync("Resume", 0)).GetInt32());
        Assert.Equal([missed, live], (await hub.ReceivedAsync("notification", 2)).Select(Id));
    }

    [Fact]
    public async Task AClientThatNeverResumesStillGetsLiveNotifications()
    {
        var user = NewUser();
        await using var hub = await ConnectAsync(user);
        // SignalR answers the handshake before OnConnectedAsync has run; any invocation completes after
        // it, so this (failing, non-resuming) one makes sure the connection is registered.
        await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync("Resume", -1));
        var id = await Server.SendAsync(user, "no resume");
        Assert.Equal(id, Id(await hub.WaitForAsync("notification")));
    }

    [Fact]
    public async Task ResumeWithANegativeCursorIsAnError()
    {
        await using var hub = await ConnectAsync(NewUser());
        await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync("Resume", -1));
    }

    [Fact]
    public async Task MarkReadOnOneTabTellsEveryTabAndTheUnreadCount()
    {
        var user = NewUser();
        var first = await Server.SendAsync(user, "one");
        await Server.SendAsync(user, "two");
        await using var tab1 = await ConnectAsync(user);
        await using var tab2 = await ConnectAsync(user);
        await tab1.InvokeAsync("Resume", 0);
        await tab2.InvokeAsync("Resume", 0);

        await tab1.InvokeAsync("MarkRead", first);

        var read = await tab2.WaitForAsync("notificationRead");
        Assert.Equal([first], read.GetProperty("ids").EnumerateArray().Select(e => e.GetInt64()));
        Assert.False(read.GetProperty("all").GetBoolean());
        Assert.Equal(JsonValueKind.Null, read.GetProperty("upTo").ValueKind);
        Assert.True(read.GetProperty("read").GetBoolean());
        Assert.Equal(1, read.GetProperty("unreadCount").GetInt32());
        await tab2.WaitForAsync("unreadCount", c => c.GetProperty("unreadCount").GetInt32() == 1);
        await tab1.WaitForAsync("notificationRead");

        await tab2.InvokeAsync("MarkUnread", first);
        var unread = await tab1.WaitForAsync("notificationRead", r => !r.GetProperty("read").GetBoolean());
        Assert.Equal(2, unread.GetProperty("unreadCount").GetInt32());

        await tab1.InvokeAsync("MarkAllRead");
        var all = await tab2.WaitForAsync("notificationRead", r => r.GetProperty("all").GetBoolean());
        Assert.Equal(0, all.GetProperty("unreadCount").GetInt32());
        Assert.Empty(all.GetProperty("ids").EnumerateArray());
    }

    [Fact]
    public async Task RestChangesReachTheHub()
    {
        var user = NewUser();
        var ids = new[] { await Server.SendAsync(user, "a"), await Server.SendAsync(user, "b"), await Server.SendAsync(user, "c") };
        await using var hub = await ConnectAsync(user);
        await hub.InvokeAsync("Resume", 0);
        using var inbox = new InboxClient(Server, user);

        await inbox.MarkReadAsync(ids[0]);
        var read = await hub.WaitForAsync("notificationRead");
        Assert.Equal(ids[0], read.GetProperty("ids")[0].GetInt64());

        await inbox.ReadAllAsync(upTo: ids[1]);
        var readAll = await hub.WaitForAsync("notificationRead", r => r.GetProperty("all").GetBoolean());
        Assert.Equal(ids[1], readAll.GetProperty("upTo").GetInt64());
        Assert.Equal(1, readAll.GetProperty("unreadCount").GetInt32());

        await inbox.DeleteAsync(ids[2]);
        var deleted = await hub.WaitForAsync("notificationDeleted");
        Assert.Equal([ids[2]], deleted.GetProperty("ids").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(0, deleted.GetProperty("unreadCount").GetInt32());
    }

    [Fact]
    public async Task MarkingAnotherUsersNotificationFailsAndChangesNothing()
    {
        var owner = NewUser();
        var id = await Server.SendAsync(owner, "private");
        await using var intruder = await ConnectAsync(NewUser());

        await Assert.ThrowsAsync<HubException>(() => intruder.InvokeAsync("MarkRead", id));
        await Assert.ThrowsAsync<HubException>(() => intruder.InvokeAsync("MarkUnread", id));
        Assert.Equal(0, (await intruder.InvokeAsync("Resume", 0)).GetInt32());

        using var inbox = new InboxClient(Server, owner);
        Assert.Equal(1, await inbox.UnreadCountAsync());
    }

    [Fact]
    public async Task AHubConnectionWithoutATokenIsRefused()
    {
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => Server.ConnectHubAsync(null));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }
}
