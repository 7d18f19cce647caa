using Dapper;
using Npgsql;

namespace Realtime.Server.Notifications;

/// <summary>
/// Reads and changes one user's inbox. Every statement is scoped by <c>user_id</c>, so a user can
/// only ever see or change their own rows; expired rows are invisible. Read-state changes lock the
/// user's counter row first, which serializes them per user and keeps the counter exact.
/// </summary>
internal sealed class InboxStore(NpgsqlDataSource dataSource, TimeProvider time)
{
    private const string NotExpired = "(expires_at IS NULL OR expires_at > @Now)";

    private const string SelectPage = $"""
        SELECT {NotificationRow.Columns}
        FROM notifications
        WHERE user_id = @UserId AND {NotExpired}
          AND (@Before::bigint IS NULL OR id < @Before)
          AND (NOT @UnreadOnly OR read_at IS NULL)
          AND (@Category::text IS NULL OR category = @Category)
        ORDER BY id DESC
        LIMIT @Take
        """;

    private const string SelectAfter = $"""
        SELECT {NotificationRow.Columns}
        FROM notifications
        WHERE user_id = @UserId AND id > @After AND {NotExpired}
        ORDER BY id
        LIMIT @Take
        """;

    /// <summary>Expired rows stay counted in user_counters until retention purges them.</summary>
    private const string ExpiredUnread = """
        (SELECT count(*) FROM notifications
         WHERE user_id = @UserId AND read_at IS NULL AND expires_at IS NOT NULL AND expires_at <= @Now)
        """;

    private const string SelectUnreadCount = $"""
        SELECT (SELECT coalesce(max(unread), 0) FROM user_counters WHERE user_id = @UserId) - {ExpiredUnread}
        """;

    private const string SelectUnreadCounts = """
        SELECT u.user_id AS UserId, (coalesce(c.unread, 0) - e.expired)::int AS UnreadCount
        FROM unnest(@UserIds::text[]) AS u(user_id)
        LEFT JOIN user_counters c ON c.user_id = u.user_id
        CROSS JOIN LATERAL (
            SELECT count(*) AS expired FROM notifications n
            WHERE n.user_id = u.user_id AND n.read_at IS NULL AND n.expires_at IS NOT NULL AND n.expires_at <= @Now) e
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
        SELECT (SELECT count(*) FROM target)::int AS Found, (SELECT count(*) FROM changed)::int AS Changed, {ExpiredUnread}::int AS ExpiredUnread
        """;

    private const string ReadAll = $"""
        WITH changed AS (
            UPDATE notifications SET read_at = @Now
            WHERE user_id = @UserId AND read_at IS NULL AND {NotExpired}
              AND (@UpTo::bigint IS NULL OR id <= @UpTo)
            RETURNING id),
        counter AS (
            UPDATE user_counters SET unread = unread - (SELECT count(*) FROM changed)::int
            WHERE user_id = @UserId)
        SELECT 1::int AS Found, (SELECT count(*) FROM changed)::int AS Changed, {ExpiredUnread}::int AS ExpiredUnread
        """;

    private const string DeleteOne = $"""
        WITH deleted AS (
            DELETE FROM notifications
            WHERE id = @Id AND user_id = @UserId AND {NotExpired}
            RETURNING read_at IS NULL AS was_unread),
        counter AS (
            UPDATE user_counters SET unread = unread - 1
            WHERE user_id = @UserId AND EXISTS (SELECT 1 FROM deleted WHERE was_unread))
        SELECT (SELECT count(*) FROM deleted)::int AS Found,
               (SELECT count(*) FROM deleted WHERE was_unread)::int AS Changed,
               {ExpiredUnread}::int AS ExpiredUnread
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

    /// <summary>The user's notifications with ids above <paramref name="afterId"/>, oldest first.</summary>
    public async Task<IReadOnlyList<Notification>> ReadAfterAsync(string userId, long afterId, int take, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<NotificationRow>(new CommandDefinition(SelectAfter,
            new { UserId = userId, After = afterId, Now = Now(), Take = take }, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToNotification()).ToList();
    }

    public async Task<int> UnreadCountAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (int)await connection.ExecuteScalarAsync<long>(new CommandDefinition(SelectUnreadCount,
            new { UserId = userId, Now = Now() }, cancellationToken: cancellationToken));
    }

    public async Task<IReadOnlyDictionary<string, int>> UnreadCountsAsync(IReadOnlyCollection<string> userIds, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string UserId, int UnreadCount)>(new CommandDefinition(SelectUnreadCounts,
            new { UserIds = userIds.ToArray(), Now = Now() }, cancellationToken: cancellationToken));
        return rows.ToDictionary(r => r.UserId, r => r.UnreadCount);
    }

    /// <summary>Marks one notification read or unread. Null when it is not the user's (or expired).</summary>
    public Task<ReadStateChange?> SetReadAsync(string userId, long id, bool read, CancellationToken cancellationToken) =>
        ChangeAsync(userId, ChangeOne, new { UserId = userId, Id = id, Read = read, Now = Now() }, delta: read ? -1 : 1, cancellationToken);

    public async Task<ReadStateChange> ReadAllAsync(string userId, long? upTo, CancellationToken cancellationToken) =>
        (await ChangeAsync(userId, ReadAll, new { UserId = userId, UpTo = upTo, Now = Now() }, delta: -1, cancellationToken))!;

    /// <summary>Deletes one notification. Null when it is not the user's (or expired).</summary>
    public Task<ReadStateChange?> DeleteAsync(string userId, long id, CancellationToken cancellationToken) =>
        ChangeAsync(userId, DeleteOne, new { UserId = userId, Id = id, Now = Now() }, delta: -1, cancellationToken);

    private async Task<ReadStateChange?> ChangeAsync(string userId, string sql, object parameters, int delta, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var counter = await connection.QuerySingleOrDefaultAsync<int?>(new CommandDefinition(LockCounter, new { UserId = userId }, transaction, cancellationToken: cancellationToken)) ?? 0;
        var outcome = await connection.QuerySingleAsync<ChangeOutcome>(new CommandDefinition(sql, parameters, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        if (outcome.Found == 0)
        {
            return null;
        }
        return new ReadStateChange(outcome.Changed, counter + delta * outcome.Changed - outcome.ExpiredUnread);
    }

    private DateTime Now() => time.GetUtcNow().UtcDateTime;

    internal sealed record ChangeOutcome(int Found, int Changed, int ExpiredUnread);
}

/// <summary>How many rows a read-state change touched, and the user's unread count after it.</summary>
internal sealed record ReadStateChange(int Changed, int UnreadCount);
