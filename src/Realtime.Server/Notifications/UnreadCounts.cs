using Dapper;
using Npgsql;
using Realtime.Server.Broadcasts;

namespace Realtime.Server.Notifications;

/// <summary>
/// Unread counts without counting a user's notifications: <c>user_counters</c> holds each user's
/// unread own notifications, kept exact in the same transactions that change them (a send adds
/// here; read, unread, delete and retention adjust it in their own statements). A count is that
/// counter, minus expired rows retention has not purged yet (a partial index holds only unread
/// rows with a TTL), plus the active broadcasts (counted once per query, whatever the number of
/// users) minus the user's receipts that read or deleted one.
/// </summary>
internal static class UnreadCounts
{
    private const string Increment = """
        INSERT INTO user_counters AS c (user_id, unread)
        SELECT t.user_id, t.added FROM unnest(@UserIds::text[], @Added::int[]) AS t(user_id, added)
        ORDER BY t.user_id
        ON CONFLICT (user_id) DO UPDATE SET unread = c.unread + EXCLUDED.unread
        """;

    private const string SelectCounts = $"""
        WITH active AS (SELECT count(*)::int AS broadcasts FROM broadcasts b WHERE {BroadcastStore.Active})
        SELECT u.user_id AS UserId,
               (coalesce(c.unread, 0)
                - (SELECT count(*) FROM notifications n
                   WHERE n.user_id = u.user_id AND n.read_at IS NULL AND n.expires_at IS NOT NULL AND n.expires_at <= @Now)
                + active.broadcasts
                - (SELECT count(*) FROM broadcast_receipts r JOIN broadcasts b ON b.id = r.broadcast_id
                   WHERE r.user_id = u.user_id AND (r.read_at IS NOT NULL OR r.deleted) AND {BroadcastStore.Active}))::int AS UnreadCount
        FROM unnest(@UserIds::text[]) AS u(user_id)
        CROSS JOIN active
        LEFT JOIN user_counters c ON c.user_id = u.user_id
        """;

    /// <summary>In a send's transaction, before the id lock (it may wait for a counter row): adds one per notification.</summary>
    public static NpgsqlBatchCommand IncrementCommand(IEnumerable<string> recipients)
    {
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var userId in recipients)
        {
            added[userId] = added.GetValueOrDefault(userId) + 1;
        }
        return new NpgsqlBatchCommand(Increment)
        {
            Parameters =
            {
                new NpgsqlParameter<string[]>("UserIds", added.Keys.ToArray()),
                new NpgsqlParameter<int[]>("Added", added.Values.ToArray()),
            },
        };
    }

    /// <summary>
    /// In a send's transaction, as its last statement: the recipients' counts as the commit leaves
    /// them. It runs after the id lock, so every broadcast and read-state change committed before
    /// this send is in it, and after the inserts and the collapse keys' deletes, so this send's
    /// own changes are too. Read the rows with <see cref="ReadRowsAsync"/>.
    /// </summary>
    public static NpgsqlBatchCommand SelectCommand(IEnumerable<string> userIds, DateTime now) => new(SelectCounts)
    {
        Parameters =
        {
            new NpgsqlParameter<string[]>("UserIds", userIds.Distinct(StringComparer.Ordinal).ToArray()),
            new NpgsqlParameter<DateTime>("Now", now),
        },
    };

    /// <summary>Whether a result set is <see cref="SelectCommand"/>'s (its first column).</summary>
    public static bool IsCountsResult(NpgsqlDataReader results) =>
        results.FieldCount == 2 && string.Equals(results.GetName(0), "UserId", StringComparison.OrdinalIgnoreCase);

    /// <summary>Reads <see cref="SelectCommand"/>'s rows (<paramref name="async"/> false: synchronously, the task returned has completed).</summary>
    public static async Task<Dictionary<string, int>> ReadRowsAsync(NpgsqlDataReader results, bool async)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        while (async ? await results.ReadAsync() : results.Read())
        {
            counts[results.GetString(0)] = results.GetInt32(1);
        }
        return counts;
    }

    /// <summary>The unread count of each of <paramref name="userIds"/> (own notifications and broadcasts).</summary>
    public static async Task<IReadOnlyDictionary<string, int>> ReadAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, IReadOnlyCollection<string> userIds, DateTime now, CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<(string UserId, int UnreadCount)>(new CommandDefinition(SelectCounts,
            new { UserIds = userIds.ToArray(), Now = now }, transaction, cancellationToken: cancellationToken));
        return rows.ToDictionary(r => r.UserId, r => r.UnreadCount);
    }

    /// <summary>The unread count of one user.</summary>
    public static async Task<int> ReadAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string userId, DateTime now, CancellationToken cancellationToken) =>
        (await ReadAsync(connection, transaction, [userId], now, cancellationToken))[userId];
}
