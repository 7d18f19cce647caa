using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;
using Realtime.Server.Bus;
using Realtime.Server.Live;

namespace Realtime.IntegrationTests.Live;

/// <summary>Every broadcast's count sweep at once, so that sweeps and sends overlap; a database of its own (broadcasts reach everyone).</summary>
public sealed class UnreadCountAfterSendFixture : ServerFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Live:BroadcastUnreadCountInterval"] = "00:00:00",
    };
}

/// <summary>
/// A send committed on this node reads its recipients' unread counts in its own transaction, and
/// each recipient's connections get that count right after the notification, with no query after
/// the commit. These tests hold it to the inbox's own count.
/// </summary>
public sealed class UnreadCountAfterSendTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private RealtimeServer Server => fixture.Server;

    [Fact]
    public async Task EachNotificationIsFollowedByTheCountItsCommitLeftAndNoCountQueryRunsAfterTheCommit()
    {
        var user = NewUser();
        await using var hub = await Server.ConnectHubAsync(Server.Tokens.User(user));
        await hub.InvokeAsync("Resume", 0);
        var before = (await hub.NextAsync("unreadCount")).Argument.GetProperty("unreadCount").GetInt32(); // the resume's
        var published = new ConcurrentQueue<SequencedNotification>();
        Server.Services.GetRequiredService<IMessageBus>().OnBatch(batch =>
        {
            foreach (var item in batch.Items.Where(i => i.UserId == user))
            {
                published.Enqueue(item);
            }
        });
        var refresher = Server.Services.GetRequiredService<UnreadCountRefresher>();
        var queriesBefore = refresher.QueriesBeforeQueueing();

        var ids = new List<long>();
        for (var i = 1; i <= 3; i++)
        {
            ids.Add(await Server.SendAsync(user, $"number {i}"));
        }

        await hub.ReceivedAsync("unreadCount", 4, Timeout);
        Assert.Equal(
            ids.SelectMany((id, i) => new[] { $"notification:{id}", $"unreadCount:{before + i + 1}" }),
            hub.Received.SkipWhile(m => m.Target != "notification").Select(Describe));
        Assert.Equal([before + 1, before + 2, before + 3], published.Select(p => p.UnreadCount ?? -1));
        Assert.Equal(queriesBefore, refresher.QueriesBeforeQueueing());
    }

    [Fact]
    public async Task SendsLinedUpInOneTransactionEachCarryTheCountTheTransactionLeft()
    {
        var user = NewUser();
        await using var hub = await Server.ConnectHubAsync(Server.Tokens.User(user));
        await hub.InvokeAsync("Resume", 0);
        var before = (await hub.NextAsync("unreadCount")).Argument.GetProperty("unreadCount").GetInt32(); // the resume's

        List<long> ids;
        await using (var holder = await IdLockHolder.HoldAsync(fixture.Database))
        {
            var first = Server.SendAsync(user, "first");
            await holder.WaitUntilWaitedForAsync(Timeout);
            var rest = Enumerable.Range(0, 3).Select(i => Server.SendAsync(user, $"queued {i}")).ToList();
            await Eventually.WaitUntilAsync(() => Task.FromResult(Server.Services.GetRequiredService<Realtime.Server.Notifications.GroupCommitQueue>().QueuedSends),
                queued => queued == 3, Timeout, "three sends queued behind the first transaction");
            await holder.ReleaseAsync();
            ids = [await first, .. await Task.WhenAll(rest)];
            Assert.Equal(4, ids.Distinct().Count());
        }

        await hub.ReceivedAsync("notification", 4, Timeout);
        using var inbox = new InboxClient(Server, user);
        Assert.Equal(before + 4, await inbox.UnreadCountAsync());
        await WaitForLastCountAsync(hub, before + 4);
        var counts = hub.Received.Where(m => m.Target == "unreadCount").Skip(1).Select(m => m.Argument.GetProperty("unreadCount").GetInt32()).ToList();
        Assert.Equal([before + 1, before + 4, before + 4, before + 4], counts);
    }

    internal static string NewUser() => "ucs-" + Guid.NewGuid().ToString("N")[..12];

    internal static string Describe(HubMessage message) => message.Target switch
    {
        "notification" => $"notification:{message.Argument.GetProperty("id").GetInt64()}",
        "unreadCount" => $"unreadCount:{message.Argument.GetProperty("unreadCount").GetInt32()}",
        _ => message.ToString(),
    };

    internal static async Task<long> BroadcastAsync(HttpClient admin, string title)
    {
        var response = await admin.PostAsJsonAsync("/api/broadcasts", new { title });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    internal static Task WaitForLastCountAsync(HubClient hub, int expected) => Eventually.WaitUntilAsync(
        () => Task.FromResult(hub.Received.Where(m => m.Target == "unreadCount").Select(m => m.Argument.GetProperty("unreadCount").GetInt32()).ToList()),
        counts => counts.Count > 0 && counts[^1] == expected, Timeout, $"the last unreadCount {expected}", counts => string.Join(", ", counts));
}

/// <summary>The same with broadcasts, whose counts come from the refresher's sweeps and must not end older than a send's.</summary>
public sealed class UnreadCountAfterSendWithBroadcastsTests(UnreadCountAfterSendFixture fixture) : IClassFixture<UnreadCountAfterSendFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private RealtimeServer Server => fixture.Server;

    [Fact]
    public async Task TheCountAfterASendHoldsActiveBroadcastsLessTheReadAndDeletedOnesAndNoExpiredOrReadNotification()
    {
        var user = UnreadCountAfterSendTests.NewUser();
        using var inbox = new InboxClient(Server, user);
        using var admin = Server.CreateApiClient(Server.Tokens.Admin());
        var before = await inbox.UnreadCountAsync(); // other tests' broadcasts
        var broadcasts = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            broadcasts.Add(await UnreadCountAfterSendTests.BroadcastAsync(admin, $"notice {i}"));
        }
        Assert.Equal(HttpStatusCode.NoContent, (await inbox.MarkReadAsync(broadcasts[1])).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await inbox.DeleteAsync(broadcasts[2])).StatusCode);
        var read = await Server.SendAsync(user, "read one");
        Assert.Equal(HttpStatusCode.NoContent, (await inbox.MarkReadAsync(read)).StatusCode);
        await Server.SendAsync(user, "expires", new { ttlSeconds = 60 });
        Server.Time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(before + 1, await inbox.UnreadCountAsync()); // the broadcast neither read nor deleted
        await using var hub = await Server.ConnectHubAsync(Server.Tokens.User(user));
        await hub.InvokeAsync("Resume", 0);

        var id = await Server.SendAsync(user, "new one");

        await hub.WaitForAsync("notification", n => n.GetProperty("id").GetInt64() == id, Timeout);
        var after = hub.Received.SkipWhile(m => m.Target != "notification" || m.Argument.GetProperty("id").GetInt64() != id).Skip(1).FirstOrDefault();
        Assert.Equal("unreadCount", after?.Target);
        Assert.Equal(before + 2, await inbox.UnreadCountAsync());
        await UnreadCountAfterSendTests.WaitForLastCountAsync(hub, before + 2);
    }

    [Fact]
    public async Task SendsOverlappingBroadcastSweepsLeaveEveryConnectionWithTheInboxCount()
    {
        var users = Enumerable.Range(0, 4).Select(_ => UnreadCountAfterSendTests.NewUser()).ToArray();
        var hubs = new List<HubClient>();
        try
        {
            foreach (var user in users)
            {
                var hub = await Server.ConnectHubAsync(Server.Tokens.User(user));
                hubs.Add(hub);
                await hub.InvokeAsync("Resume", 0);
            }
            using var admin = Server.CreateApiClient(Server.Tokens.Admin());

            var sends = Enumerable.Range(0, 60).Select(i => Server.SendAsync(users[i % users.Length], $"send {i}"));
            var notices = Enumerable.Range(0, 10).Select(i => UnreadCountAfterSendTests.BroadcastAsync(admin, $"notice {i}"));
            await Task.WhenAll(sends.Concat(notices));

            for (var i = 0; i < users.Length; i++)
            {
                using var inbox = new InboxClient(Server, users[i]);
                await UnreadCountAfterSendTests.WaitForLastCountAsync(hubs[i], await inbox.UnreadCountAsync());
            }
        }
        finally
        {
            foreach (var hub in hubs)
            {
                await hub.DisposeAsync();
            }
        }
    }
}
