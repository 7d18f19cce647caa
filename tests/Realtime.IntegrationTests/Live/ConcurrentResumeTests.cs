using System.Text.Json;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Live;

/// <summary>A node whose replays read 3 notifications per page, so a short inbox already spans several pages.</summary>
public sealed class SmallReplayPageFixture : ServerFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Live:ReplayPageSize"] = "3" };
}

/// <summary>
/// Resumes that arrive together (a node restart: every client at once) are read together; each
/// must still get exactly its own user's notifications after its own cursor, and its own count.
/// </summary>
public sealed class ConcurrentResumeTests(SmallReplayPageFixture fixture) : IClassFixture<SmallReplayPageFixture>
{
    private RealtimeServer Server => fixture.Server;

    private static string NewUser() => "resume-" + Guid.NewGuid().ToString("N")[..12];

    private static long Id(JsonElement notification) => notification.GetProperty("id").GetInt64();

    [Fact]
    public async Task ManyClientsResumingAtOnceEachGetTheirOwnUsersNotificationsAfterTheirOwnCursorAndTheirOwnCount()
    {
        // Inboxes of 1 to 8 notifications: shorter than a page, exactly a page, several pages.
        var users = Enumerable.Range(0, 16).Select(i => (User: NewUser(), Count: i % 8 + 1)).ToArray();
        var sent = new Dictionary<string, List<long>>();
        foreach (var (user, count) in users)
        {
            sent[user] = [];
            for (var n = 0; n < count; n++)
            {
                sent[user].Add(await Server.SendAsync(user, $"n{n}"));
            }
        }
        // Two tabs per user, one resuming from 0, one from its first notification: the same user twice in one read.
        var tabs = new List<(string User, long After, HubClient Hub)>();
        try
        {
            foreach (var (user, _) in users)
            {
                tabs.Add((user, 0, await Server.ConnectHubAsync(Server.Tokens.User(user))));
                tabs.Add((user, sent[user][0], await Server.ConnectHubAsync(Server.Tokens.User(user))));
            }

            var replayed = await Task.WhenAll(tabs.Select(t => t.Hub.InvokeAsync("Resume", t.After)));

            for (var i = 0; i < tabs.Count; i++)
            {
                var (user, after, hub) = tabs[i];
                var expected = sent[user].Where(id => id > after).ToList();
                Assert.Equal(expected.Count, replayed[i].GetInt32());
                Assert.Equal(expected, (await hub.ReceivedAsync("notification", expected.Count)).Select(Id));
                var count = await hub.WaitForAsync("unreadCount");
                Assert.Equal(sent[user].Count, count.GetProperty("unreadCount").GetInt32());
            }
        }
        finally
        {
            foreach (var tab in tabs)
            {
                await tab.Hub.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task AReplayLongerThanAPageArrivesWholeInOrderAndItsCountIncludesEveryPage()
    {
        var user = NewUser();
        var ids = new List<long>();
        for (var n = 0; n < 7; n++)
        {
            ids.Add(await Server.SendAsync(user, $"n{n}"));
        }
        await using var hub = await Server.ConnectHubAsync(Server.Tokens.User(user));

        Assert.Equal(7, (await hub.InvokeAsync("Resume", 0)).GetInt32());

        Assert.Equal(ids, (await hub.ReceivedAsync("notification", 7)).Select(Id));
        Assert.Equal(7, (await hub.WaitForAsync("unreadCount")).GetProperty("unreadCount").GetInt32());
        var live = await Server.SendAsync(user, "live");
        await hub.WaitForAsync("notification", n => Id(n) == live);
        Assert.Equal([.. ids, live], hub.Received.Where(m => m.Target == "notification").Select(m => Id(m.Argument)));
    }
}
