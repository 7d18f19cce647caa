using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Live;

/// <summary>A node whose connections are dealt into three dispatch lanes (each written by its own thread).</summary>
public sealed class ThreeDispatchLanesFixture : ServerFixture
{
    public const int Lanes = 3;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Live:DispatchLanes"] = Lanes.ToString(System.Globalization.CultureInfo.InvariantCulture) };
}

/// <summary>
/// The dispatcher's lanes write to their shares of the connections in parallel. Whatever lane a
/// connection is in, and whichever lane finishes first, each connection must get every broadcast
/// and its own user's notifications once, in id order, and then the unread count that includes
/// them all. A database of its own: broadcasts reach everyone.
/// </summary>
public sealed class DispatchLaneTests(ThreeDispatchLanesFixture fixture) : IClassFixture<ThreeDispatchLanesFixture>
{
    private const int Users = 4;
    private const int Senders = 4;
    private const int PerSender = 6;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private RealtimeServer Server => fixture.Server;

    [Fact]
    public async Task ConnectionsInEveryLaneGetEveryBroadcastAndTheirOwnNotificationsOnceInIdOrderThenTheirCount()
    {
        var users = Enumerable.Range(0, Users).Select(_ => "lane-" + Guid.NewGuid().ToString("N")[..12]).ToArray();
        // Two tabs per user: eight connections dealt in turn over three lanes, so a user's tabs sit in different lanes.
        var tabs = new List<(string User, HubClient Hub)>();
        try
        {
            foreach (var user in users.Concat(users))
            {
                var hub = await Server.ConnectHubAsync(Server.Tokens.User(user));
                tabs.Add((user, hub));
                await hub.InvokeAsync("Resume", 0);
            }

            var broadcasts = new ConcurrentBag<long>();
            var own = new ConcurrentDictionary<string, ConcurrentBag<long>>(users.ToDictionary(u => u, _ => new ConcurrentBag<long>()));
            // Broadcasts and sends to single users at once, so the sequencer hands the lanes batches that mix both.
            await Task.WhenAll(Enumerable.Range(0, Senders).Select(sender => Task.Run(async () =>
            {
                for (var i = 0; i < PerSender; i++)
                {
                    broadcasts.Add(await BroadcastAsync($"b{sender}-{i}"));
                    var user = users[(sender + i) % Users];
                    own[user].Add(await Server.SendAsync(user, $"n{sender}-{i}"));
                }
            })));
            // Last, alone: once a connection has it, everything before it has arrived (ids only go up).
            var marker = await BroadcastAsync("marker");

            foreach (var (user, hub) in tabs)
            {
                List<long> expected = [.. broadcasts.Concat(own[user]).Order(), marker];
                await hub.WaitForAsync("notification", n => n.GetProperty("id").GetInt64() == marker, Timeout);
                var received = (await hub.ReceivedAsync("notification", 0)).Select(n => n.GetProperty("id").GetInt64()).ToList();
                Assert.Equal(expected, received);
                // Nothing was read: the last count a tab gets covers every notification it got.
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

    private async Task<long> BroadcastAsync(string title)
    {
        using var client = Server.CreateApiClient(Server.Tokens.Admin());
        var response = await client.PostAsJsonAsync("/api/broadcasts", new { title });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }
}
