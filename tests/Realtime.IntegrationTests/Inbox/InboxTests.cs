using System.Net;
using System.Text.Json;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Inbox;

public sealed class InboxTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RealtimeServer Server => fixture.Server;

    private static string NewUser() => "user-" + Guid.NewGuid().ToString("N")[..12];

    private async Task<List<long>> SendManyAsync(string userId, int count, string category = "general")
    {
        var ids = new List<long>();
        for (var i = 0; i < count; i++)
        {
            ids.Add(await Server.SendAsync(userId, $"n{i}", new { category }));
        }
        return ids;
    }

    [Fact]
    public async Task ListIsNewestFirstWithTheUnreadCount()
    {
        var user = NewUser();
        var ids = await SendManyAsync(user, 3);
        using var inbox = new InboxClient(Server, user);

        var page = await inbox.ListAsync();

        Assert.Equal(ids.AsEnumerable().Reverse(), page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetInt64()));
        Assert.Equal(3, page.GetProperty("unreadCount").GetInt32());
        Assert.Equal(JsonValueKind.Null, page.GetProperty("nextBefore").ValueKind);
    }

    [Fact]
    public async Task PagingWithBeforeWalksEveryNotificationOnceAcrossPages()
    {
        var user = NewUser();
        var ids = await SendManyAsync(user, 7);
        using var inbox = new InboxClient(Server, user);

        var seen = new List<long>();
        string query = "?limit=3";
        var pages = 0;
        while (true)
        {
            var page = await inbox.ListAsync(query);
            pages++;
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetInt64()));
            var next = page.GetProperty("nextBefore");
            if (next.ValueKind == JsonValueKind.Null)
            {
                break;
            }
            query = $"?limit=3&before={next.GetInt64()}";
        }

        Assert.Equal(3, pages);
        Assert.Equal(ids.AsEnumerable().Reverse(), seen);
    }

    [Theory]
    [InlineData("?limit=0", "limit")]
    [InlineData("?limit=201", "limit")]
    [InlineData("?limit=ten", "limit")]
    [InlineData("?before=abc", "before")]
    [InlineData("?unread=maybe", "unread")]
    public async Task InvalidQueryParametersAnswer400NamingTheParameter(string query, string field)
    {
        using var inbox = new InboxClient(Server, NewUser());
        var response = await inbox.GetAsync("/api/notifications" + query);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Fact]
    public async Task LimitOf200IsAccepted()
    {
        using var inbox = new InboxClient(Server, NewUser());
        var response = await inbox.GetAsync("/api/notifications?limit=200");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task UnreadAndCategoryFiltersNarrowTheListButNotTheUnreadCount()
    {
        var user = NewUser();
        var orders = await SendManyAsync(user, 2, "order.shipped");
        var news = await SendManyAsync(user, 2, "news");
        using var inbox = new InboxClient(Server, user);
        Assert.Equal(HttpStatusCode.NoContent, (await inbox.MarkReadAsync(orders[0])).StatusCode);

        Assert.Equal([orders[1]], await inbox.ListIdsAsync("?unread=true&category=order.shipped"));
        Assert.Equal(news.AsEnumerable().Reverse(), await inbox.ListIdsAsync("?category=news"));
        var unreadOnly = await inbox.ListAsync("?unread=true");
        Assert.Equal(3, unreadOnly.GetProperty("items").GetArrayLength());
        Assert.Equal(3, unreadOnly.GetProperty("unreadCount").GetInt32());
        Assert.Equal(4, (await inbox.ListAsync("?category=news")).GetProperty("items").GetArrayLength() + 2);
        Assert.Equal(3, (await inbox.ListAsync("?category=news")).GetProperty("unreadCount").GetInt32());
    }

    [Fact]
    public async Task ReadAndUnreadChangeReadAtAndTheUnreadCount()
    {
        var user = NewUser();
        var ids = await SendManyAsync(user, 2);
        using var inbox = new InboxClient(Server, user);

        Assert.Equal(HttpStatusCode.NoContent, (await inbox.MarkReadAsync(ids[0])).StatusCode);
        Assert.Equal(1, await inbox.UnreadCountAsync());
        var item = (await inbox.ListAsync()).GetProperty("items").EnumerateArray().Single(i => i.GetProperty("id").GetInt64() == ids[0]);
        Assert.Equal(JsonValueKind.String, item.GetProperty("readAt").ValueKind);

        // Marking read twice changes nothing.
        Assert.Equal(HttpStatusCode.NoContent, (await inbox.MarkReadAsync(ids[0])).StatusCode);
        Assert.Equal(1, await inbox.UnreadCountAsync());

        Assert.Equal(HttpStatusCode.NoContent, (await inbox.MarkUnreadAsync(ids[0])).StatusCode);
        Assert.Equal(2, await inbox.UnreadCountAsync());
        item = (await inbox.ListAsync()).GetProperty("items").EnumerateArray().Single(i => i.GetProperty("id").GetInt64() == ids[0]);
        Assert.Equal(JsonValueKind.Null, item.GetProperty("readAt").ValueKind);
    }

    [Fact]
    public async Task ReadAllMarksEverythingOrOnlyUpToTheGivenId()
    {
        var user = NewUser();
        var ids = await SendManyAsync(user, 4);
        using var inbox = new InboxClient(Server, user);

        Assert.Equal(HttpStatusCode.NoContent, (await inbox.ReadAllAsync(upTo: ids[1])).StatusCode);
        Assert.Equal(2, await inbox.UnreadCountAsync());
        Assert.Equal([ids[3], ids[2]], await inbox.ListIdsAsync("?unread=true"));

        Assert.Equal(HttpStatusCode.NoContent, (await inbox.ReadAllAsync()).StatusCode);
        Assert.Equal(0, await inbox.UnreadCountAsync());
    }

    [Fact]
    public async Task DeleteRemovesTheNotificationAndItsUnreadCount()
    {
        var user = NewUser();
        var ids = await SendManyAsync(user, 2);
        using var inbox = new InboxClient(Server, user);

        Assert.Equal(HttpStatusCode.NoContent, (await inbox.DeleteAsync(ids[0])).StatusCode);

        Assert.Equal([ids[1]], await inbox.ListIdsAsync());
        Assert.Equal(1, await inbox.UnreadCountAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await inbox.DeleteAsync(ids[0])).StatusCode);
    }

    [Fact]
    public async Task AnotherUsersNotificationIsNotFoundForEveryChange()
    {
        var owner = NewUser();
        var id = (await SendManyAsync(owner, 1)).Single();
        using var intruder = new InboxClient(Server, NewUser());

        foreach (var response in new[]
                 {
                     await intruder.MarkReadAsync(id), await intruder.MarkUnreadAsync(id), await intruder.DeleteAsync(id),
                 })
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
        Assert.Empty(await intruder.ListIdsAsync());

        using var ownerInbox = new InboxClient(Server, owner);
        Assert.Equal([id], await ownerInbox.ListIdsAsync("?unread=true"));
        Assert.Equal(HttpStatusCode.NoContent, (await intruder.ReadAllAsync()).StatusCode);
        Assert.Equal(1, await ownerInbox.UnreadCountAsync());
    }

    [Fact]
    public async Task UnknownIdsAreNotFound()
    {
        using var inbox = new InboxClient(Server, NewUser());
        Assert.Equal(HttpStatusCode.NotFound, (await inbox.MarkReadAsync(long.MaxValue)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await inbox.PostAsync("/api/notifications/abc/read")).StatusCode);
    }

    [Fact]
    public async Task ReadAllWithANegativeUpToIsRejected()
    {
        using var inbox = new InboxClient(Server, NewUser());
        var response = await inbox.ReadAllAsync(upTo: -5);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}

/// <summary>Expiry moves the server's clock, so it gets a server of its own.</summary>
public sealed class InboxExpiryTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task ExpiredNotificationsAreNeitherListedNorCountedNorChangeable()
    {
        var server = fixture.Server;
        var user = "expiring-" + Guid.NewGuid().ToString("N")[..8];
        var shortLived = await server.SendAsync(user, "short", new { ttlSeconds = 60 });
        var lasting = await server.SendAsync(user, "lasting");
        using var inbox = new InboxClient(server, user);
        Assert.Equal(2, await inbox.UnreadCountAsync());

        server.Time.Advance(TimeSpan.FromSeconds(61));

        Assert.Equal([lasting], await inbox.ListIdsAsync());
        Assert.Equal(1, await inbox.UnreadCountAsync());
        Assert.Equal(1, (await inbox.ListAsync()).GetProperty("unreadCount").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, (await inbox.MarkReadAsync(shortLived)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await inbox.DeleteAsync(shortLived)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await inbox.ReadAllAsync()).StatusCode);
        Assert.Equal(0, await inbox.UnreadCountAsync());

        await using var hub = await server.ConnectHubAsync(server.Tokens.User(user));
        var replayed = await hub.InvokeAsync("Resume", 0);
        Assert.Equal(1, replayed.GetInt32());
        var only = await hub.NextAsync("notification");
        Assert.Equal(lasting, only.Argument.GetProperty("id").GetInt64());
    }
}
