using System.Collections.Concurrent;
using System.Net.Http.Json;
using Dapper;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Live;

/// <summary>
/// The core promise: with many concurrent senders, a reader that follows a cursor (in PostgreSQL,
/// or through the hub, reconnecting all the time) ends with exactly the ids the senders got, each
/// once, in increasing order on every connection.
/// </summary>
public sealed class NoGapNoDuplicateTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const int Senders = 6;
    private const int SendsPerSender = 40;

    private RealtimeServer Server => fixture.Server;

    /// <summary>Concurrent senders to one user; some sends also go to a second user, so batches vary in size.</summary>
    private Task<List<long>> SendConcurrentlyAsync(string userId) => SendConcurrentlyAsync(userId, [Server]);

    /// <summary>Sender k sends through node k mod n.</summary>
    private static async Task<List<long>> SendConcurrentlyAsync(string userId, RealtimeServer[] nodes, CancellationToken cancellationToken = default)
    {
        var ids = new ConcurrentBag<long>();
        await Task.WhenAll(Enumerable.Range(0, Senders).Select(sender => Task.Run(async () =>
        {
            var node = nodes[sender % nodes.Length];
            using var client = node.CreateApiClient(node.Tokens.Service($"sender-{sender}"));
            for (var i = 0; i < SendsPerSender; i++)
            {
                object body = i % 3 == 0
                    ? new { userIds = new[] { userId, userId + "-other" }, title = $"s{sender}-{i}" }
                    : new { userId, title = $"s{sender}-{i}" };
                var response = await client.PostAsJsonAsync("/api/notifications", body, cancellationToken);
                response.EnsureSuccessStatusCode();
                var sent = await response.Content.ReadFromJsonAsync<RealtimeServer.SendResult>(cancellationToken);
                foreach (var item in sent!.Notifications.Where(n => n.UserId == userId))
                {
                    ids.Add(item.Id);
                }
            }
        }, cancellationToken)));
        return ids.Order().ToList();
    }

    [Fact]
    public async Task ACursorReaderInPostgresNeverSkipsAnIdWhileTwoNodesCommitConcurrently()
    {
        var user = "cursor-" + Guid.NewGuid().ToString("N")[..8];
        await using var secondNode = await RealtimeServer.StartAsync(fixture.Database.ConnectionString);
        await using var connection = await fixture.Database.OpenAsync();
        var seen = new List<long>();
        long cursor = 0;
        var sending = SendConcurrentlyAsync(user, [Server, secondNode]);

        while (!sending.IsCompleted)
        {
            var page = (await connection.QueryAsync<long>(
                "SELECT id FROM notifications WHERE user_id = @user AND id > @cursor ORDER BY id", new { user, cursor })).AsList();
            seen.AddRange(page);
            if (page.Count > 0)
            {
                cursor = page[^1];
            }
        }
        var sent = await sending;
        seen.AddRange(await connection.QueryAsync<long>(
            "SELECT id FROM notifications WHERE user_id = @user AND id > @cursor ORDER BY id", new { user, cursor }));

        Assert.Equal(Senders * SendsPerSender, sent.Count);
        Assert.Equal(sent, seen);
    }

    [Fact]
    public async Task AHubReaderReconnectingEvery40MillisecondsGetsEveryIdOnceInIncreasingOrder()
    {
        var user = "reconnecting-" + Guid.NewGuid().ToString("N")[..8];
        var token = Server.Tokens.User(user);
        var received = new List<long>();
        var connections = 0;
        var sending = SendConcurrentlyAsync(user);

        async Task ReadOnceAsync(TimeSpan listenFor)
        {
            long cursor = received.Count == 0 ? 0 : received[^1];
            await using var hub = await Server.ConnectHubAsync(token);
            connections++;
            await hub.InvokeAsync("Resume", cursor);
            await Task.Delay(listenFor);
            await hub.CloseAsync();
            var ids = hub.Received.Where(m => m.Target == "notification").Select(m => m.FirstArgument.GetProperty("id").GetInt64()).ToList();
            AssertIncreasingFrom(cursor, connections, ids, received);
        }

        while (!sending.IsCompleted)
        {
            await ReadOnceAsync(TimeSpan.FromMilliseconds(40));
        }
        var sent = await sending;
        await ReadOnceAsync(TimeSpan.Zero); // the Resume itself replays whatever is left

        Assert.True(connections > 3, $"only {connections} connections: the test did not exercise reconnecting");
        Assert.Equal(sent.Count, received.Count);
        Assert.Equal(sent, received);
    }

    [Fact]
    public async Task AnSseReaderReconnectingEvery40MillisecondsWithLastEventIdGetsEveryIdOnceInIncreasingOrder()
    {
        var user = "sse-reconnecting-" + Guid.NewGuid().ToString("N")[..8];
        var token = Server.Tokens.User(user);
        var received = new List<long>();
        var connections = 0;
        var sending = SendConcurrentlyAsync(user);

        async Task ReadOnceAsync(TimeSpan listenFor)
        {
            var cursor = received.Count == 0 ? 0 : received[^1];
            IReadOnlyList<long> ids;
            await using (var stream = await SseTestClient.ConnectAsync(Server.BaseAddress, token, lastEventId: cursor.ToString()))
            {
                connections++;
                await stream.Retry.WaitAsync(SseTestClient.DefaultTimeout);
                await Task.Delay(listenFor);
                ids = stream.NotificationIds();
            }
            AssertIncreasingFrom(cursor, connections, ids, received);
        }

        while (!sending.IsCompleted)
        {
            await ReadOnceAsync(TimeSpan.FromMilliseconds(40));
        }
        var sent = await sending;
        // The replay may take a moment to arrive once the senders are done; read until it has.
        for (var attempt = 0; attempt < 50 && received.Count < sent.Count; attempt++)
        {
            await ReadOnceAsync(TimeSpan.FromMilliseconds(100));
        }

        Assert.True(connections > 3, $"only {connections} connections: the test did not exercise reconnecting");
        Assert.Equal(sent, received);
    }

    /// <summary>Every id on one connection is above the cursor it resumed from and above the one before it.</summary>
    private static void AssertIncreasingFrom(long cursor, int connection, IReadOnlyList<long> ids, List<long> received)
    {
        for (var i = 0; i < ids.Count; i++)
        {
            var previous = i == 0 ? cursor : ids[i - 1];
            Assert.True(ids[i] > previous, $"Connection {connection} sent {ids[i]} after {previous}: [{string.Join(", ", ids)}]");
        }
        received.AddRange(ids);
    }

    [Fact]
    public async Task ALiveReaderThatNeverReconnectsGetsEveryIdOnceInIncreasingOrder()
    {
        var user = "steady-" + Guid.NewGuid().ToString("N")[..8];
        await using var hub = await Server.ConnectHubAsync(Server.Tokens.User(user));
        await hub.InvokeAsync("Resume", 0);

        var sent = await SendConcurrentlyAsync(user);

        var received = new List<long>();
        while (received.Count < sent.Count)
        {
            received.Add((await hub.NextAsync("notification")).FirstArgument.GetProperty("id").GetInt64());
        }
        Assert.Equal(sent, received);
    }
}
