using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Bus;
using static Realtime.IntegrationTests.Presence.PresenceProbe;
using static Realtime.IntegrationTests.Infrastructure.Eventually;

namespace Realtime.IntegrationTests.Presence;

/// <summary>Heartbeats every second, and a reconcile interval far beyond any test.</summary>
public sealed class RareReconcileFixture : ServerFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Presence:NodeTimeoutSeconds"] = "3",
        ["Presence:ReconcileIntervalSeconds"] = "3600",
    };
}

/// <summary>Heartbeats every second, connection rows reconciled every 2 s.</summary>
public sealed class FrequentReconcileFixture : ServerFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Presence:NodeTimeoutSeconds"] = "3",
        ["Presence:ReconcileIntervalSeconds"] = "2",
    };
}

/// <summary>
/// A node's heartbeat writes its own row only: whether a connection is online is its node's
/// heartbeat, so its connection rows are left alone between reconciles (at 100,000 connections,
/// rewriting them every heartbeat cost PostgreSQL thousands of row updates a second).
/// </summary>
public sealed class PresenceHeartbeatTests(RareReconcileFixture fixture) : IClassFixture<RareReconcileFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task HeartbeatsBetweenReconcilesLeaveTheConnectionRowsAloneAndTheUserOnline()
    {
        var server = fixture.Server;
        var user = NewUser();
        await using var hub = await server.ConnectHubAsync(server.Tokens.User(user));
        await WaitForConnectionCountAsync(server, user, 1, Patience);
        await using var connection = await fixture.Database.OpenAsync();
        var lastSeen = await LastSeenAsync(connection, user);
        var heartbeat = await NodeHeartbeatAsync(connection, server);

        await WaitUntilAsync(() => NodeHeartbeatAsync(connection, server), at => at >= heartbeat.AddSeconds(3), Timeout, "three more heartbeats");

        Assert.Equal(lastSeen, await LastSeenAsync(connection, user));
        Assert.True((await PresenceAsync(server, user)).GetProperty("online").GetBoolean());
    }

    internal static Task<DateTime> LastSeenAsync(System.Data.Common.DbConnection connection, string user) =>
        connection.ExecuteScalarAsync<DateTime>("SELECT last_seen_at FROM connections WHERE user_id = @user", new { user });

    internal static Task<DateTime> NodeHeartbeatAsync(System.Data.Common.DbConnection connection, RealtimeServer server) =>
        connection.ExecuteScalarAsync<DateTime>("SELECT last_heartbeat FROM nodes WHERE id = @id",
            new { id = server.Services.GetRequiredService<NodeIdentity>().Id });
}

/// <summary>Every reconcile interval a node still refreshes its connection rows and closes its strays.</summary>
public sealed class PresenceReconcileTests(FrequentReconcileFixture fixture) : IClassFixture<FrequentReconcileFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task AReconcileRefreshesTheLiveConnectionsLastSeenTime()
    {
        var server = fixture.Server;
        var user = NewUser();
        await using var hub = await server.ConnectHubAsync(server.Tokens.User(user));
        await WaitForConnectionCountAsync(server, user, 1, Patience);
        await using var connection = await fixture.Database.OpenAsync();
        var lastSeen = await PresenceHeartbeatTests.LastSeenAsync(connection, user);

        await WaitUntilAsync(() => PresenceHeartbeatTests.LastSeenAsync(connection, user), at => at > lastSeen, Timeout, "last_seen_at refreshed");
    }

    [Fact]
    public async Task AnOpenRowOfThisNodeThatIsNotLiveHereIsClosedByAReconcile()
    {
        var server = fixture.Server;
        var user = NewUser();
        var stray = "stray-" + Guid.NewGuid().ToString("N");
        await using var connection = await fixture.Database.OpenAsync();
        // A close this node lost (as after a write it had to drop): its row is still open.
        await connection.ExecuteAsync("""
            INSERT INTO connections (id, user_id, node_id, transport, connected_at, last_seen_at)
            VALUES (@stray, @user, @node, 'websockets', now(), now())
            """, new { stray, user, node = server.Services.GetRequiredService<NodeIdentity>().Id });

        await WaitUntilAsync(
            () => connection.ExecuteScalarAsync<bool>("SELECT disconnected_at IS NOT NULL FROM connections WHERE id = @stray", new { stray }),
            closed => closed, Timeout, "the stray row closed");
        Assert.False((await PresenceAsync(server, user)).GetProperty("online").GetBoolean());
    }
}
