using System.Collections.Concurrent;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Live;

/// <summary>
/// A batch of users' own notifications for a few connections is queued on them by the thread that
/// hands it to the dispatcher; one for more connections than that goes through the lanes. Sends to
/// a user with a few tabs and to a user with more tabs than the inline bound, at once, mix both
/// kinds of batch: every tab must still get its user's notifications once, in id order, then the
/// count that covers them.
/// </summary>
public sealed class SmallBatchDispatchTests(ThreeDispatchLanesFixture fixture) : IClassFixture<ThreeDispatchLanesFixture>
{
    private const int ManyTabs = 34; // over the dispatcher's bound of 32 connections for a batch it queues itself
    private const int PerUser = 12;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private RealtimeServer Server => fixture.Server;

    [Fact]
    public async Task NotificationsForAFewTabsAndForManyTabsReachEveryTabOnceInIdOrderThenTheirCount()
    {
        var fewUser = "few-" + Guid.NewGuid().ToString("N")[..12];
        var manyUser = "many-" + Guid.NewGuid().ToString("N")[..12];
        var tabs = new List<(string User, HubClient Hub)>();
        try
        {
            foreach (var user in Enumerable.Repeat(fewUser, 2).Concat(Enumerable.Repeat(manyUser, ManyTabs)))
            {
                var hub = await Server.ConnectHubAsync(Server.Tokens.User(user));
                tabs.Add((user, hub));
                await hub.InvokeAsync("Resume", 0);
            }

            var sent = new ConcurrentDictionary<string, ConcurrentBag<long>>();
            sent[fewUser] = [];
            sent[manyUser] = [];
            // Both users at once, from several senders, so batches hold one user's, the other's, or both.
            await Task.WhenAll(Enumerable.Range(0, 4).Select(sender => Task.Run(async () =>
            {
                for (var i = 0; i < PerUser / 2; i++)
                {
                    var user = (sender + i) % 2 == 0 ? fewUser : manyUser;
                    sent[user].Add(await Server.SendAsync(user, $"s{sender}-{i}"));
                }
            })));

            foreach (var (user, hub) in tabs)
            {
                List<long> expected = [.. sent[user].Order()];
                var received = (await hub.ReceivedAsync("notification", expected.Count, Timeout)).Select(n => n.GetProperty("id").GetInt64()).ToList();
                Assert.Equal(expected, received);
                await hub.WaitForLastUnreadCountAsync(expected.Count, Timeout, $"an unreadCount of {expected.Count} on a tab of {user}");
            }
        }
        finally
        {
            foreach (var (_, hub) in tabs)
            {
                await hub.DisposeAsync();
            }
        }
    }
}
