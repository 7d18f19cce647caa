using System.Diagnostics;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Bus;
using static Realtime.IntegrationTests.Presence.PresenceProbe;
using static Realtime.IntegrationTests.Infrastructure.Eventually;

namespace Realtime.IntegrationTests.Presence;

/// <summary>
/// Two real nodes on one database (API.md "Admins: presence and stats", DESIGN.md "Connection
/// records"): presence and stats are live across nodes; a node that stops heartbeating has its
/// connections closed by the other within the node timeout; a node that stops closes its own.
/// Node B reaches PostgreSQL through a proxy the test can cut: that is how B falls silent without
/// its graceful shutdown (its process keeps running, its clients stay connected).
/// </summary>
public sealed class MultiNodePresenceTests : IAsyncLifetime
{
    private const int ShortTimeoutSeconds = 3;
    private static readonly TimeSpan ShortTimeout = TimeSpan.FromSeconds(ShortTimeoutSeconds);

    /// <summary>Polling, HTTP and a busy test machine, on top of what the contract allows.</summary>
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(1);

    private readonly List<IAsyncDisposable> _cleanup = [];
    private TestDatabase _database = null!;
    private TcpProxy _proxy = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        var direct = new NpgsqlConnectionStringBuilder(_database.ConnectionString);
        _proxy = new TcpProxy(direct.Host!, direct.Port);
        _proxy.Start();
    }

    public async Task DisposeAsync()
    {
        for (var i = _cleanup.Count - 1; i >= 0; i--)
        {
            await _cleanup[i].DisposeAsync();
        }
        await _proxy.DisposeAsync();
        await _database.DisposeAsync();
    }

    /// <summary>Node A on the database directly, node B through the proxy, both with this node timeout.</summary>
    private async Task<(RealtimeServer A, RealtimeServer B)> StartNodesAsync(int nodeTimeoutSeconds = 30)
    {
        var settings = new Dictionary<string, string?> { ["Presence:NodeTimeoutSeconds"] = nodeTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        var a = Track(await RealtimeServer.StartAsync(_database.ConnectionString, settings));
        var viaProxy = new NpgsqlConnectionStringBuilder(_database.ConnectionString) { Host = "127.0.0.1", Port = _proxy.Port };
        var b = Track(await RealtimeServer.StartAsync(viaProxy.ConnectionString, settings));
        return (a, b);
    }

    private T Track<T>(T disposable) where T : IAsyncDisposable
    {
        _cleanup.Add(disposable);
        return disposable;
    }

    private static string NodeId(RealtimeServer server) => server.Services.GetRequiredService<NodeIdentity>().Id;

    [Fact]
    public async Task PresenceOnEitherNodeListsTheUsersConnectionsOnEveryNode()
    {
        var (a, b) = await StartNodesAsync();
        var user = NewUser();
        Track(await a.ConnectHubAsync(a.Tokens.User(user)));
        Track(await SseTestClient.ConnectAsync(b.BaseAddress, b.Tokens.User(user)));

        foreach (var node in new[] { a, b })
        {
            await WaitForConnectionCountAsync(node, user, 2, Patience);
            var connections = await ConnectionsAsync(node, user);
            Assert.Equal(
                [(NodeId(a), "websockets"), (NodeId(b), "sse")],
                connections.Select(c => (c.GetProperty("node").GetString(), c.GetProperty("transport").GetString())).OrderBy(c => c.Item2 == "sse"));
        }
    }

    [Fact]
    public async Task StatsListEveryLiveNodeWithItsConnectionsAndCountOnlineUsers()
    {
        var (a, b) = await StartNodesAsync();
        var alice = NewUser();
        var bob = NewUser();
        Track(await a.ConnectHubAsync(a.Tokens.User(alice)));
        Track(await SseTestClient.ConnectAsync(a.BaseAddress, a.Tokens.User(alice)));
        Track(await b.ConnectHubAsync(b.Tokens.User(alice)));
        var bobs = Track(await b.ConnectHubAsync(b.Tokens.User(bob)));

        await WaitUntilAsync(() => StatsAsync(a), s => s.GetProperty("connections").GetInt32() == 4, Patience, "4 connections in the stats");
        var stats = await StatsAsync(b);

        Assert.Equal(["nodes", "connections", "onlineUsers"], stats.EnumerateObject().Select(p => p.Name));
        Assert.Equal(4, stats.GetProperty("connections").GetInt32());
        Assert.Equal(2, stats.GetProperty("onlineUsers").GetInt32());
        var nodes = stats.GetProperty("nodes").EnumerateArray().ToDictionary(n => n.GetProperty("id").GetString()!);
        Assert.Equal(new[] { NodeId(a), NodeId(b) }.Order(), nodes.Keys.Order());
        Assert.Equal(2, nodes[NodeId(a)].GetProperty("connections").GetInt32());
        Assert.Equal(2, nodes[NodeId(b)].GetProperty("connections").GetInt32());
        foreach (var node in nodes.Values)
        {
            Assert.Equal(["id", "connections", "lastHeartbeat"], node.EnumerateObject().Select(p => p.Name));
            AssertTimestamp(node.GetProperty("lastHeartbeat"));
        }

        await bobs.CloseAsync();
        var after = await WaitUntilAsync(() => StatsAsync(a), s => s.GetProperty("onlineUsers").GetInt32() == 1, CloseVisibleWithin + Slack, "bob offline in the stats");
        Assert.Equal(3, after.GetProperty("connections").GetInt32());
    }

    [Fact]
    public async Task ANodeThatFallsSilentHasItsConnectionsClosedByTheOtherWithinTheNodeTimeout()
    {
        var (a, b) = await StartNodesAsync(ShortTimeoutSeconds);
        var user = NewUser();
        await using var client = await b.ConnectHubAsync(b.Tokens.User(user));
        await WaitForConnectionCountAsync(a, user, 1, Patience);
        var connectionId = (await ConnectionsAsync(a, user)).Single().GetProperty("id").GetString();

        await _proxy.StopAsync(); // B can no longer heartbeat (nor close anything)
        var silentFor = Stopwatch.StartNew();

        await WaitForConnectionCountAsync(a, user, 0, ShortTimeout + Slack);
        Assert.False(client.Closed.IsCompleted, "The client is still connected to B: only B's records went silent.");
        var stats = await StatsAsync(a);
        Assert.Equal([NodeId(a)], stats.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("id").GetString()));
        Assert.Equal(0, stats.GetProperty("onlineUsers").GetInt32());

        // A's sweep writes it down: the row closed, B's node row gone (within the timeout plus one heartbeat interval).
        await using var connection = await _database.OpenAsync();
        await WaitUntilAsync(
            () => connection.QuerySingleAsync<(DateTime? DisconnectedAt, bool NodeLeft)>(
                "SELECT disconnected_at, NOT EXISTS (SELECT 1 FROM nodes WHERE id = @node) FROM connections WHERE id = @connectionId",
                new { connectionId, node = NodeId(b) }),
            row => row.DisconnectedAt is not null && row.NodeLeft,
            ShortTimeout + ShortTimeout / 3 + Slack - silentFor.Elapsed,
            "B's connection closed by A");
    }

    [Fact]
    public async Task ANodeTakenForDeadRecordsItsLiveConnectionsAgainOnceItIsBack()
    {
        var (a, b) = await StartNodesAsync(ShortTimeoutSeconds);
        var user = NewUser();
        await using var client = await b.ConnectHubAsync(b.Tokens.User(user));
        await WaitForConnectionCountAsync(a, user, 1, Patience);
        await _proxy.StopAsync();
        await using (var connection = await _database.OpenAsync())
        {
            await WaitUntilAsync(
                () => connection.ExecuteScalarAsync<bool>("SELECT NOT EXISTS (SELECT 1 FROM nodes WHERE id = @node)", new { node = NodeId(b) }),
                gone => gone, ShortTimeout * 2 + Slack, "B swept by A");
        }

        _proxy.Start();

        await WaitForConnectionCountAsync(a, user, 1, Patience);
        var stats = await StatsAsync(a);
        Assert.Equal(new[] { NodeId(a), NodeId(b) }.Order(), stats.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("id").GetString()).Order());
    }

    [Fact]
    public async Task ConnectionsThatOpenAndCloseWhileTheDatabaseIsDownAreWrittenOnceItIsBack()
    {
        var (a, b) = await StartNodesAsync();
        var user = NewUser();
        var leaving = await b.ConnectHubAsync(b.Tokens.User(user));
        await WaitForConnectionCountAsync(a, user, 1, Patience);
        var leavingId = (await ConnectionsAsync(a, user)).Single().GetProperty("id").GetString();

        await _proxy.StopAsync();
        await using var arriving = await b.ConnectHubAsync(b.Tokens.User(user));
        var briefly = await SseTestClient.ConnectAsync(b.BaseAddress, b.Tokens.User(user));
        await leaving.DisposeAsync();
        await briefly.DisposeAsync();
        _proxy.Start();

        await WaitUntilAsync(() => ConnectionsAsync(a, user),
            c => c.Count == 1 && c[0].GetProperty("id").GetString() != leavingId && c[0].GetProperty("transport").GetString() == "websockets",
            Patience, "only the hub connection opened during the outage");
    }

    [Fact]
    public async Task ANodeThatStopsClosesItsConnectionsAndLeavesTheStatsAtOnce()
    {
        var (a, b) = await StartNodesAsync();
        var user = NewUser();
        await using var client = await b.ConnectHubAsync(b.Tokens.User(user));
        await WaitForConnectionCountAsync(a, user, 1, Patience);

        _cleanup.Remove(b);
        await b.DisposeAsync(); // graceful shutdown, with the 30 s node timeout far away

        Assert.Empty(await ConnectionsAsync(a, user));
        var stats = await StatsAsync(a);
        Assert.Equal([NodeId(a)], stats.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("id").GetString()));
        await using var connection = await _database.OpenAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<int>(
            "SELECT count(*) FROM connections WHERE user_id = @user AND disconnected_at IS NULL", new { user }));
    }

    [Fact]
    public async Task RowsLeftBehindByANodeThatNeverCameBackAreIgnoredAtOnceAndClosedByTheSweep()
    {
        var (a, _) = await StartNodesAsync(ShortTimeoutSeconds);
        var user = NewUser();
        var longAgo = DateTime.UtcNow.AddSeconds(-10);
        await using var connection = await _database.OpenAsync();
        // A crashed node whose heartbeat stopped 10 s ago, and a connection of a node whose row is gone altogether.
        await connection.ExecuteAsync("""
            INSERT INTO nodes (id, started_at, last_heartbeat) VALUES ('crashed-node', @longAgo, @longAgo);
            INSERT INTO connections (id, user_id, node_id, transport, connected_at, last_seen_at)
            VALUES ('on-crashed-node', @user, 'crashed-node', 'websockets', @longAgo, @longAgo),
                   ('on-vanished-node', @user, 'vanished-node', 'sse', @longAgo, @longAgo);
            """, new { user, longAgo });

        Assert.False((await PresenceAsync(a, user)).GetProperty("online").GetBoolean());
        Assert.DoesNotContain("crashed-node", (await StatsAsync(a)).GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("id").GetString()));

        await WaitUntilAsync(
            () => connection.ExecuteScalarAsync<int>("SELECT count(*) FROM connections WHERE user_id = @user AND disconnected_at IS NULL", new { user }),
            open => open == 0, ShortTimeout / 3 + Slack * 2, "both rows closed by the sweep");
        Assert.Equal(0, await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM nodes WHERE id = 'crashed-node'"));
    }
}
