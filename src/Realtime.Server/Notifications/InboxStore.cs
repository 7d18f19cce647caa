using Dapper;
using Npgsql;
using Realtime.Server.Broadcasts;
using Realtime.Server.Contracts;

namespace Realtime.Server.Notifications;

/// <summary>
/// Reads and changes one user's inbox: their own notifications merged with the active
/// broadcasts (each with the user's receipt: read or deleted). Every statement is scoped by
/// <c>user_id</c>, so a user only ever sees or changes their own rows; expired rows are invisible.
/// Read-state changes lock the user's counter row first, which serializes them per user.
/// </summary>
internal sealed class InboxStore(NpgsqlDataSource dataSource, TimeProvider time)
{
    private const string NotExpired = "(expires_at IS NULL OR expires_at > @Now)";
    private const string OwnNotExpired = "(n.expires_at IS NULL OR n.expires_at > @Now)";
    private const string VisibleBroadcasts = BroadcastStore.VisibleToUser;
    private const string BroadcastActive = BroadcastStore.Active;

    private const string SelectPage = $"""
        SELECT * FROM (
            (SELECT {NotificationRow.Columns}
             FROM {NotificationRow.Source}
             WHERE n.user_id = @UserId AND {OwnNotExpired}
               AND (@Before::bigint IS NULL OR n.id < @Before)
               AND (NOT @UnreadOnly OR n.read_at IS NULL)
               AND (@Category::text IS NULL OR c.category = @Category)
             ORDER BY n.id DESC LIMIT @Take)
            UNION ALL
            (SELECT {NotificationRow.BroadcastColumns}
             FROM {VisibleBroadcasts}
               AND (@Before::bigint IS NULL OR b.id < @Before)
               AND (NOT @UnreadOnly OR r.read_at IS NULL)
               AND (@Category::text IS NULL OR b.category = @Category)
             ORDER BY b.id DESC LIMIT @Take)) merged
        ORDER BY id DESC
        LIMIT @Take
        """;

    /// <summary>
    /// For each (user, cursor) pair, in the order given: the first @Take notifications the user can see
    /// with ids above the cursor (own and broadcasts), oldest first, tagged with the pair's position.
    /// One statement serves one user's replay page and a whole batch of coalesced resumes alike.
    /// </summary>
    private const string SelectPagesAfter = $"""
        SELECT q.ord, p.*
        FROM unnest(@UserIds::text[], @Afters::bigint[]) WITH ORDINALITY AS q(user_id, after_id, ord)
        CROSS JOIN LATERAL (
            SELECT * FROM (
                (SELECT {NotificationRow.Columns}
                 FROM {NotificationRow.Source}
                 WHERE n.user_id = q.user_id AND n.id > q.after_id AND {OwnNotExpired}
                 ORDER BY n.id LIMIT @Take)
                UNION ALL
                (SELECT {NotificationRow.BroadcastColumns}
                 FROM broadcasts b LEFT JOIN broadcast_receipts r ON r.broadcast_id = b.id AND r.user_id = q.user_id
                 WHERE {BroadcastActive} AND r.deleted IS NOT TRUE AND b.id > q.after_id
                 ORDER BY b.id LIMIT @Take)) merged
            ORDER BY id
            LIMIT @Take) p
        ORDER BY q.ord, p.id
        """;

    /// <summary>Whether id is a notification of this user or a broadcast: one lookup, so each change runs one statement.</summary>
    private const string FindKind = """
        SELECT true FROM notifications WHERE id = @Id AND user_id = @UserId
        UNION ALL
        SELECT false FROM broadcasts WHERE id = @Id
        """;

    private const string LockCounter = "SELECT unread FROM user_counters WHERE user_id = @UserId FOR UPDATE";

    private const string ChangeOne = $"""
        WITH target AS (
            SELECT id, read_at FROM notifications
            WHERE id = @Id AND user_id = @UserId AND {NotExpired}
            FOR UPDATE),
        changed AS (
            UPDATE notifications n SET read_at = CASE WHEN @Read THEN @Now END
            FROM target
            WHERE n.id = target.id AND (target.read_at IS NULL) = @Read
            RETURNING n.id),
        counter AS (
            UPDATE user_counters SET unread = unread + (CASE WHEN @Read THEN -1 ELSE 1 END) * (SELECT count(*) FROM changed)::int
            WHERE user_id = @UserId AND EXISTS (SELECT 1 FROM changed))
        SELECT (SELECT count(*) FROM target)::int AS Found, (SELECT count(*) FROM changed)::int AS Changed
        """;

    private const string TargetBroadcast = $"""
        target AS (
            SELECT b.id, r.read_at IS NULL AS unread
            FROM {VisibleBroadcasts} AND b.id = @Id)
        """;

    private const string ReadBroadcast = $"""
        WITH {TargetBroadcast},
        changed AS (
            INSERT INTO broadcast_receipts (user_id, broadcast_id, read_at)
            SELECT @UserId, id, @Now FROM target
            ON CONFLICT (user_id, broadcast_id) DO UPDATE SET read_at = EXCLUDED.read_at
                WHERE broadcast_receipts.read_at IS NULL
            RETURNING 1)
        SELECT (SELECT count(*) FROM target)::int AS Found, (SELECT count(*) FROM changed)::int AS Changed
        """;

    private const string UnreadBroadcast = $"""
        WITH {TargetBroadcast},
        changed AS (
            UPDATE broadcast_receipts r SET read_at = NULL
            FROM target
            WHERE r.broadcast_id = target.id AND r.user_id = @UserId AND r.read_at IS NOT NULL
            RETURNING 1)
        SELECT (SELECT count(*) FROM target)::int AS Found, (SELECT count(*) FROM changed)::int AS Changed
        """;

    private const string DeleteBroadcast = $"""
        WITH {TargetBroadcast},
        receipt AS (
            INSERT INTO broadcast_receipts (user_id, broadcast_id, deleted)
            SELECT @UserId, id, true FROM target
            ON CONFLICT (user_id, broadcast_id) DO UPDATE SET deleted = true)
        SELECT (SELECT count(*) FROM target)::int AS Found, (SELECT count(*) FROM target WHERE unread)::int AS Changed
        """;

    private const string ReadAll = $"""
        WITH changed AS (
            UPDATE notifications SET read_at = @Now
            WHERE user_id = @UserId AND read_at IS NULL AND {NotExpired}
              AND (@UpTo::bigint IS NULL OR id <= @UpTo)
            RETURNING id),
        counter AS (
            UPDATE user_counters SET unread = unread - (SELECT count(*) FROM changed)::int
            WHERE user_id = @UserId),
        broadcasts_read AS (
            INSERT INTO broadcast_receipts (user_id, broadcast_id, read_at)
            SELECT @UserId, b.id, @Now FROM broadcasts b
            WHERE {BroadcastActive} AND (@UpTo::bigint IS NULL OR b.id <= @UpTo)
            ON CONFLICT (user_id, broadcast_id) DO UPDATE SET read_at = EXCLUDED.read_at
                WHERE broadcast_receipts.read_at IS NULL AND NOT broadcast_receipts.deleted
            RETURNING 1)
        SELECT 1::int AS Found, ((SELECT count(*) FROM changed) + (SELECT count(*) FROM broadcasts_read))::int AS Changed
        """;

    private const string DeleteOne = $"""
        WITH deleted AS (
            DELETE FROM notifications
            WHERE id = @Id AND user_id = @UserId AND {NotExpired}
            RETURNING read_at IS NULL AS was_unread),
        counter AS (
            UPDATE user_counters SET unread = unread - 1
            WHERE user_id = @UserId AND EXISTS (SELECT 1 FROM deleted WHERE was_unread))
        SELECT (SELECT count(*) FROM deleted)::int AS Found, (SELECT count(*) FROM deleted WHERE was_unread)::int AS Changed
        """;

    public async Task<(IReadOnlyList<Notification> Items, bool More)> ListAsync(
        string userId, int limit, long? before, bool unreadOnly, string? category, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = (await connection.QueryAsync<NotificationRow>(new CommandDefinition(SelectPage,
            new { UserId = userId, Now = Now(), Before = before, UnreadOnly = unreadOnly, Category = category, Take = limit + 1 },
            cancellationToken: cancellationToken))).AsList();
        var more = rows.Count > limit;
        return (rows.Take(limit).Select(r => r.ToNotification()).ToList(), more);
    }

    /// <summary>What the user can see with ids above <paramref name="afterId"/> (own and broadcasts), oldest first.</summary>
    public async Task<IReadOnlyList<Notification>> ReadAfterAsync(string userId, long afterId, int take, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await ReadPagesAfterAsync(connection, [(userId, afterId)], take, Now(), cancellationToken))[0];
    }

    /// <summary>
    /// <see cref="ReadAfterAsync"/> for several (user, cursor) pairs in one statement on
    /// <paramref name="connection"/>: at most <paramref name="take"/> each, in the order of <paramref name="cursors"/>.
    /// </summary>
    internal static async Task<List<Notification>[]> ReadPagesAfterAsync(
        NpgsqlConnection connection, IReadOnlyList<(string UserId, long AfterId)> cursors, int take, DateTime now, CancellationToken cancellationToken)
    {
        var pages = cursors.Select(_ => new List<Notification>()).ToArray();
        var rows = await connection.QueryAsync<long, NotificationRow, (long Ord, NotificationRow Row)>(new CommandDefinition(SelectPagesAfter, new
        {
            UserIds = cursors.Select(c => c.UserId).ToArray(),
            Afters = cursors.Select(c => c.AfterId).ToArray(),
            Now = now,
            Take = take,
        }, cancellationToken: cancellationToken), (ord, row) => (ord, row), splitOn: "id");
        foreach (var (ord, row) in rows)
        {
            pages[(int)ord - 1].Add(row.ToNotification());
        }
        return pages;
    }

    public async Task<int> UnreadCountAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await UnreadCounts.ReadAsync(connection, null, userId, Now(), cancellationToken);
    }

    public async Task<IReadOnlyDictionary<string, int>> UnreadCountsAsync(IReadOnlyCollection<string> userIds, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await UnreadCounts.ReadAsync(connection, null, userIds, Now(), cancellationToken);
    }

    /// <summary>Marks one notification or broadcast read or unread. Null when the user cannot see it.</summary>
    public Task<ReadStateChange?> SetReadAsync(string userId, long id, bool read, CancellationToken cancellationToken)
    {
        var parameters = new { UserId = userId, Id = id, Read = read, Now = Now() };
        return ChangeAsync(userId, id, ChangeOne, read ? ReadBroadcast : UnreadBroadcast, parameters, cancellationToken);
    }

    public async Task<ReadStateChange> ReadAllAsync(string userId, long? upTo, CancellationToken cancellationToken) =>
        (await ChangeAsync(userId, id: null, ReadAll, ReadAll, new { UserId = userId, UpTo = upTo, Now = Now() }, cancellationToken))!;

    /// <summary>Removes one notification or broadcast from the user's inbox. Null when the user cannot see it.</summary>
    public Task<ReadStateChange?> DeleteAsync(string userId, long id, CancellationToken cancellationToken)
    {
        var parameters = new { UserId = userId, Id = id, Now = Now() };
        return ChangeAsync(userId, id, DeleteOne, DeleteBroadcast, parameters, cancellationToken);
    }

    /// <summary>
    /// Under the user's counter lock: looks up whether <paramref name="id"/> is the user's
    /// notification or a broadcast (ids are unique across both), runs the statement for that kind
    /// (<paramref name="id"/> null: the one statement covers both), then reads the unread count.
    /// </summary>
    private async Task<ReadStateChange?> ChangeAsync(
        string userId, long? id, string ownNotification, string broadcast, object parameters, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(LockCounter, new { UserId = userId }, transaction, cancellationToken: cancellationToken));
        var sql = ownNotification;
        if (id is not null)
        {
            var kind = await connection.QueryFirstOrDefaultAsync<bool?>(new CommandDefinition(FindKind,
                new { Id = id, UserId = userId }, transaction, cancellationToken: cancellationToken));
            if (kind is null)
            {
                return null;
            }
            sql = kind.Value ? ownNotification : broadcast;
        }
        var outcome = await connection.QuerySingleAsync<ChangeOutcome>(new CommandDefinition(sql, parameters, transaction, cancellationToken: cancellationToken));
        if (outcome.Found == 0)
        {
            return null;
        }
        var unread = await UnreadCounts.ReadAsync(connection, transaction, userId, Now(), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new ReadStateChange(outcome.Changed, unread);
    }

    private DateTime Now() => time.GetUtcNow().UtcDateTime;

    internal sealed record ChangeOutcome(int Found, int Changed);
}

/// <summary>How many rows a read-state change touched, and the user's unread count after it.</summary>
internal sealed record ReadStateChange(int Changed, int UnreadCount);
