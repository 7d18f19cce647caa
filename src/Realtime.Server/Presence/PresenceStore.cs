using Realtime.Server.Storage;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;
using Realtime.Server.Bus;

namespace Realtime.Server.Presence;

/// <summary>
/// Connection records and node heartbeats in PostgreSQL, shared by every node. A connection
/// counts as online while its row is open and its node's heartbeat is younger than the node
/// timeout: the reads check both, so a dead node's connections stop counting at once, before any
/// node has swept them.
/// </summary>
internal sealed class PresenceStore(NpgsqlDataSource dataSource, NodeIdentity node, TimeProvider time, IOptions<PresenceOptions> options)
{
    /// <summary>Presence lists at most this many connections of one user (a client gone wild must not make a huge answer).</summary>
    public const int MaxListedConnections = 1_000;

    /// <summary>
    /// Closed rows purged per pass (one pass per node every third of the node timeout): a short
    /// transaction, and with the defaults about 1,000 rows a second per node, more than any
    /// sustained reconnect rate.
    /// </summary>
    private const int PurgeBatch = 10_000;

    private const string IsLive = "c.disconnected_at IS NULL AND n.last_heartbeat >= @Cutoff";

    /// <summary>True when the row was created now: at start-up, or after other nodes took this one for dead.</summary>
    private const string UpsertNode = """
        INSERT INTO nodes (id, started_at, last_heartbeat) VALUES (@NodeId, @Now, @Now)
        ON CONFLICT (id) DO UPDATE SET last_heartbeat = excluded.last_heartbeat
        RETURNING started_at = @Now
        """;

    /// <summary>
    /// One round trip per batch. A retried batch may meet rows it already wrote: it keeps their
    /// close time, or adds the one learned since. The two parts touch different rows (a connection
    /// that closed before it was written is inserted closed).
    /// </summary>
    private const string WriteBatch = """
        WITH opened AS (
            INSERT INTO connections (id, user_id, node_id, transport, user_agent, ip, connected_at, last_seen_at, disconnected_at)
            SELECT o.id, o.user_id, @NodeId, o.transport, o.user_agent, o.ip, o.connected_at, o.connected_at, o.disconnected_at
            FROM unnest(@Ids::text[], @UserIds::text[], @Transports::text[], @UserAgents::text[], @Ips::text[],
                        @ConnectedAts::timestamptz[], @DisconnectedAts::timestamptz[])
                 AS o(id, user_id, transport, user_agent, ip, connected_at, disconnected_at)
            ON CONFLICT (id) DO UPDATE SET disconnected_at = COALESCE(connections.disconnected_at, excluded.disconnected_at)
            RETURNING 1),
        closed AS (
            UPDATE connections c SET disconnected_at = d.at
            FROM unnest(@ClosedIds::text[], @ClosedAts::timestamptz[]) AS d(id, at)
            WHERE c.id = d.id AND c.disconnected_at IS NULL
            RETURNING 1)
        SELECT (SELECT count(*) FROM opened) + (SELECT count(*) FROM closed)
        """;

    /// <summary>Also reopens rows another node closed while it thought this node dead (they are live here).</summary>
    private const string TouchConnections = """
        UPDATE connections SET last_seen_at = @Now, disconnected_at = NULL
        WHERE node_id = @NodeId AND id = ANY(@Ids)
        """;

    /// <summary>Open rows of this node that are not live here (their close was lost to an error) close now.</summary>
    private const string CloseStrays = """
        UPDATE connections SET disconnected_at = @Now
        WHERE node_id = @NodeId AND disconnected_at IS NULL AND id <> ALL(@Ids)
        """;

    /// <summary>Rewrites this node's live connections whole, when some of their rows were missing (purged meanwhile).</summary>
    private const string RestoreConnections = """
        INSERT INTO connections (id, user_id, node_id, transport, user_agent, ip, connected_at, last_seen_at, disconnected_at)
        SELECT o.id, o.user_id, @NodeId, o.transport, o.user_agent, o.ip, o.connected_at, @Now, NULL
        FROM unnest(@Ids::text[], @UserIds::text[], @Transports::text[], @UserAgents::text[], @Ips::text[], @ConnectedAts::timestamptz[])
             AS o(id, user_id, transport, user_agent, ip, connected_at)
        ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at, disconnected_at = NULL
        """;

    private const string TryLockHousekeeping = "SELECT pg_try_advisory_xact_lock(@LockKey)";

    /// <summary>
    /// A node silent for the timeout is gone: its row goes and its connections close, in one
    /// statement. Never this node (it knows it is alive; its heartbeat may just be late after an outage).
    /// </summary>
    private const string SweepDeadNodes = """
        WITH dead AS (
            DELETE FROM nodes WHERE last_heartbeat < @Cutoff AND id <> @NodeId RETURNING id),
        closed AS (
            UPDATE connections c SET disconnected_at = @Now
            FROM dead WHERE c.node_id = dead.id AND c.disconnected_at IS NULL
            RETURNING 1)
        SELECT (SELECT count(*) FROM dead)::int AS nodes, (SELECT count(*) FROM closed)::int AS connections
        """;

    /// <summary>
    /// Open rows of a node with no row at all (deleted by hand, or written by a node in the instant
    /// it was swept) close once nobody has touched them for the timeout. Readers ignore them already
    /// (no live node). Should that node still be running, its next heartbeat finds its row gone,
    /// writes it again and reopens its live connections' rows. The distinct node ids are read by
    /// skipping through the index, one probe per node, not per connection.
    /// </summary>
    private const string SweepOrphans = """
        WITH RECURSIVE live_nodes AS (
            (SELECT node_id FROM connections WHERE disconnected_at IS NULL ORDER BY node_id LIMIT 1)
            UNION ALL
            SELECT (SELECT c.node_id FROM connections c WHERE c.disconnected_at IS NULL AND c.node_id > l.node_id ORDER BY c.node_id LIMIT 1)
            FROM live_nodes l WHERE l.node_id IS NOT NULL),
        orphaned AS (
            SELECT l.node_id FROM live_nodes l
            WHERE l.node_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.id = l.node_id))
        UPDATE connections c SET disconnected_at = @Now
        FROM orphaned o
        WHERE c.node_id = o.node_id AND c.disconnected_at IS NULL AND c.last_seen_at < @Cutoff
        """;

    private const string PurgeClosed = """
        DELETE FROM connections
        WHERE ctid IN (SELECT ctid FROM connections WHERE disconnected_at < @Before LIMIT @Batch)
        """;

    private const string CloseNode = """
        WITH gone AS (DELETE FROM nodes WHERE id = @NodeId)
        UPDATE connections SET disconnected_at = @Now
        WHERE node_id = @NodeId AND disconnected_at IS NULL
        """;

    private const string SelectUserConnections = $"""
        SELECT c.id, c.node_id, c.transport, c.connected_at, c.user_agent
        FROM connections c JOIN nodes n ON n.id = c.node_id
        WHERE c.user_id = @UserId AND {IsLive}
        ORDER BY c.connected_at, c.id
        LIMIT @Limit
        """;

    private const string SelectIsOnline = $"""
        SELECT EXISTS (
            SELECT 1 FROM connections c JOIN nodes n ON n.id = c.node_id
            WHERE c.user_id = @UserId AND {IsLive})
        """;

    private const string SelectOnlineAmong = $"""
        SELECT DISTINCT c.user_id
        FROM connections c JOIN nodes n ON n.id = c.node_id
        WHERE c.user_id = ANY(@UserIds) AND {IsLive}
        """;

    /// <summary>One statement, one snapshot: the per-node counts add up to the totals.</summary>
    private const string SelectStats = $"""
        WITH live AS MATERIALIZED (
            SELECT c.node_id, c.user_id FROM connections c JOIN nodes n ON n.id = c.node_id
            WHERE {IsLive})
        SELECT n.id, n.last_heartbeat,
               (SELECT count(*) FROM live WHERE live.node_id = n.id)::int AS connections,
               (SELECT count(DISTINCT user_id) FROM live)::int AS online_users
        FROM nodes n
        WHERE n.last_heartbeat >= @Cutoff
        ORDER BY n.id
        """;

    private readonly PresenceOptions _options = options.Value;

    public string NodeId => node.Id;

    /// <summary>Records this node as alive (start-up, before it takes connections).</summary>
    public async Task RegisterNodeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(UpsertNode, new { NodeId, Now = Now() }, cancellationToken: cancellationToken));
    }

    /// <summary>Writes a batch of opened and closed connections of this node in one round trip; safe to retry.</summary>
    public async Task<long> WriteAsync(PresenceBatch batch, CancellationToken cancellationToken)
    {
        var opened = batch.Opened.ToArray();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(WriteBatch, new
        {
            NodeId,
            Ids = opened.Select(c => c.Id).ToArray(),
            UserIds = opened.Select(c => c.UserId).ToArray(),
            Transports = opened.Select(c => c.Transport).ToArray(),
            UserAgents = opened.Select(c => c.UserAgent).ToArray(),
            Ips = opened.Select(c => c.Ip).ToArray(),
            ConnectedAts = opened.Select(c => c.ConnectedAt).ToArray(),
            // DateTimeOffset: an array of DateTime? mixing nulls and UTC values cannot be sent as timestamptz[].
            DisconnectedAts = opened.Select(c => c.DisconnectedAt is { } at ? new DateTimeOffset(at) : (DateTimeOffset?)null).ToArray(),
            ClosedIds = batch.Closed.Keys.ToArray(),
            ClosedAts = batch.Closed.Values.ToArray(),
        }, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// This node is alive: refreshes its row, alone in its own statement (never in a transaction
    /// with rows a client shaped). Returns true when the row was gone: other nodes had taken this
    /// node for dead (and closed its connections).
    /// </summary>
    public async Task<bool> HeartbeatAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<bool>(new CommandDefinition(UpsertNode, new { NodeId, Now = Now() }, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Refreshes the last-seen time of this node's live connections (every reconcile interval, not
    /// every heartbeat) and makes its rows match
    /// <paramref name="live"/> exactly: reopens or rewrites any that another node closed or purged
    /// meanwhile, closes any open row that is not live here. A row PostgreSQL refuses does not fail
    /// the others: they are then written one by one, and the ids of those refused are returned.
    /// </summary>
    public async Task<IReadOnlyList<string>> ReconcileAsync(IReadOnlyCollection<ConnectionRecord> live, CancellationToken cancellationToken)
    {
        try
        {
            await ReconcileTogetherAsync(live, cancellationToken);
            return [];
        }
        catch (Exception ex) when (live.Count > 0 && !DatabaseErrors.IsUnavailable(ex) && !cancellationToken.IsCancellationRequested)
        {
            var refused = new List<string>();
            foreach (var record in live)
            {
                try
                {
                    await ReconcileTogetherAsync([record], cancellationToken, closeStrays: false);
                }
                catch (Exception single) when (!DatabaseErrors.IsUnavailable(single) && !cancellationToken.IsCancellationRequested)
                {
                    refused.Add(record.Id);
                }
            }
            if (refused.Count == live.Count && live.Count > 1)
            {
                throw; // every row fails alike: not a row's fault
            }
            await ReconcileTogetherAsync(live.Where(c => !refused.Contains(c.Id)).ToList(), cancellationToken);
            return refused;
        }
    }

    private async Task ReconcileTogetherAsync(IReadOnlyCollection<ConnectionRecord> live, CancellationToken cancellationToken, bool closeStrays = true)
    {
        var now = Now();
        var ids = live.Select(c => c.Id).ToArray();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var touched = await connection.ExecuteAsync(new CommandDefinition(TouchConnections, new { NodeId, Now = now, Ids = ids }, transaction, cancellationToken: cancellationToken));
        if (touched < ids.Length)
        {
            await connection.ExecuteAsync(new CommandDefinition(RestoreConnections, new
            {
                NodeId,
                Now = now,
                Ids = ids,
                UserIds = live.Select(c => c.UserId).ToArray(),
                Transports = live.Select(c => c.Transport).ToArray(),
                UserAgents = live.Select(c => c.UserAgent).ToArray(),
                Ips = live.Select(c => c.Ip).ToArray(),
                ConnectedAts = live.Select(c => c.ConnectedAt).ToArray(),
            }, transaction, cancellationToken: cancellationToken));
        }
        if (closeStrays)
        {
            await connection.ExecuteAsync(new CommandDefinition(CloseStrays, new { NodeId, Now = now, Ids = ids }, transaction, cancellationToken: cancellationToken));
        }
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// Closes the connections of nodes silent for the timeout (and deletes their rows), then purges
    /// a batch of old closed rows. One node at a time does it; returns null when another node is at it.
    /// </summary>
    public async Task<Housekeeping?> HousekeepAsync(CancellationToken cancellationToken)
    {
        var now = Now();
        var cutoff = now - _options.NodeTimeout;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition(TryLockHousekeeping, new { LockKey = AdvisoryLocks.PresenceHousekeeping }, transaction, cancellationToken: cancellationToken)))
        {
            return null;
        }
        var (nodes, closed) = await connection.QuerySingleAsync<(int, int)>(new CommandDefinition(SweepDeadNodes, new { NodeId, Now = now, Cutoff = cutoff }, transaction, cancellationToken: cancellationToken));
        closed += await connection.ExecuteAsync(new CommandDefinition(SweepOrphans, new { Now = now, Cutoff = cutoff }, transaction, cancellationToken: cancellationToken));
        var purged = await connection.ExecuteAsync(new CommandDefinition(PurgeClosed, new { Before = now - _options.ClosedConnectionRetention, Batch = PurgeBatch }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return new Housekeeping(nodes, closed, purged);
    }

    /// <summary>This node is going away: closes its connections and deletes its row, in one statement.</summary>
    public async Task<int> CloseNodeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(CloseNode, new { NodeId, Now = Now() }, cancellationToken: cancellationToken));
    }

    /// <summary>The user's live connections on every live node, oldest first.</summary>
    public async Task<IReadOnlyList<PresenceConnection>> LiveConnectionsAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<ConnectionRow>(new CommandDefinition(SelectUserConnections,
            new { UserId = userId, Cutoff = Cutoff(), Limit = MaxListedConnections }, cancellationToken: cancellationToken));
        return rows.Select(r => new PresenceConnection(r.Id, r.NodeId, r.Transport, r.ConnectedAt, r.UserAgent)).ToList();
    }

    /// <summary>Whether the user has a live connection on any live node.</summary>
    public async Task<bool> IsOnlineAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<bool>(new CommandDefinition(SelectIsOnline,
            new { UserId = userId, Cutoff = Cutoff() }, cancellationToken: cancellationToken));
    }

    /// <summary>Those of <paramref name="userIds"/> with a live connection on any live node (one query for all).</summary>
    public async Task<IReadOnlySet<string>> OnlineAmongAsync(IReadOnlyCollection<string> userIds, CancellationToken cancellationToken)
    {
        if (userIds.Count == 0)
        {
            return new HashSet<string>(StringComparer.Ordinal);
        }
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var online = await connection.QueryAsync<string>(new CommandDefinition(SelectOnlineAmong,
            new { UserIds = userIds.Distinct(StringComparer.Ordinal).ToArray(), Cutoff = Cutoff() }, cancellationToken: cancellationToken));
        return online.ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Every live node with its connection count, and the totals.</summary>
    public async Task<StatsResponse> StatsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = (await connection.QueryAsync<NodeRow>(new CommandDefinition(SelectStats,
            new { Cutoff = Cutoff() }, cancellationToken: cancellationToken))).ToList();
        return new StatsResponse(
            rows.Select(r => new NodeStats(r.Id, r.Connections, r.LastHeartbeat)).ToList(),
            rows.Sum(r => r.Connections),
            rows.Count == 0 ? 0 : rows[0].OnlineUsers);
    }

    /// <summary>Now, to the microsecond (what PostgreSQL keeps), so a value read back compares equal.</summary>
    private DateTime Now()
    {
        var now = time.GetUtcNow().UtcDateTime;
        return new DateTime(now.Ticks - now.Ticks % 10, DateTimeKind.Utc);
    }

    /// <summary>Nodes with a heartbeat older than this are dead.</summary>
    private DateTime Cutoff() => Now() - _options.NodeTimeout;

    private sealed class ConnectionRow
    {
        public string Id { get; init; } = "";
        public string NodeId { get; init; } = "";
        public string Transport { get; init; } = "";
        public DateTime ConnectedAt { get; init; }
        public string? UserAgent { get; init; }
    }

    private sealed class NodeRow
    {
        public string Id { get; init; } = "";
        public DateTime LastHeartbeat { get; init; }
        public int Connections { get; init; }
        public int OnlineUsers { get; init; }
    }
}

/// <summary>What one housekeeping pass did.</summary>
internal sealed record Housekeeping(int DeadNodes, int ClosedConnections, int PurgedRows);
