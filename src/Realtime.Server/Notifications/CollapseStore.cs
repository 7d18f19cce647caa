using Npgsql;
using Realtime.Server.Storage;

namespace Realtime.Server.Notifications;

/// <summary>A recipient's older unread notification that a new one with the same collapse key replaced.</summary>
internal sealed record ReplacedNotification(long Id, string UserId, long ReplacedBy);

/// <summary>
/// Collapse keys: a new notification replaces its recipient's older unread ones with the same key.
/// The statement runs in the commit's locked round trip, right after the insert: the id lock makes
/// every earlier commit visible to it (READ COMMITTED takes a snapshot per statement), so two sends
/// with one key, in one batch or in two, always leave exactly one unread notification.
/// </summary>
internal static class CollapseStore
{
    /// <summary>
    /// Each new row with a key deletes the recipient's unread rows with that key and a lower id (so
    /// of several new ones in one batch only the last stays), and the recipient's counter drops by
    /// as many, keeping it equal to the unread rows: the count does not grow. Rows: the replaced ones.
    /// </summary>
    private const string ReplaceOlder = $"""
        WITH newest AS (
            SELECT k.user_id, k.collapse_key, max({IdAllocator.LastAllocatedId} + @IdBase + k.position) AS id
            FROM unnest(@UserIds::text[], @CollapseKeys::text[], @Positions::int[]) AS k(user_id, collapse_key, position)
            GROUP BY k.user_id, k.collapse_key),
        replaced AS (
            DELETE FROM notifications n USING newest k
            WHERE n.user_id = k.user_id AND n.collapse_key = k.collapse_key AND n.read_at IS NULL AND n.id < k.id
            RETURNING n.id, n.user_id, k.id AS replaced_by),
        counted AS (
            UPDATE user_counters c SET unread = c.unread - r.removed
            FROM (SELECT user_id, count(*)::int AS removed FROM replaced GROUP BY user_id) r
            WHERE c.user_id = r.user_id)
        SELECT id, user_id, replaced_by FROM replaced
        """;

    /// <summary>
    /// The statement for the rows of <see cref="NotificationStore.InsertCommands"/> that carry a key,
    /// or null when none does. Row k (1-based) has the id last + <paramref name="idBase"/> + k.
    /// </summary>
    public static NpgsqlBatchCommand? ReplaceOlderCommand(IReadOnlyList<NotificationRecipient> rows, long idBase)
    {
        var keyed = rows.Select((row, index) => (row.UserId, row.CollapseKey, Position: index + 1))
            .Where(row => row.CollapseKey is not null)
            .ToList();
        if (keyed.Count == 0)
        {
            return null;
        }
        return new NpgsqlBatchCommand(ReplaceOlder)
        {
            Parameters =
            {
                new NpgsqlParameter<long>("IdBase", idBase),
                new NpgsqlParameter<string[]>("UserIds", keyed.Select(k => k.UserId).ToArray()),
                new NpgsqlParameter<string[]>("CollapseKeys", keyed.Select(k => k.CollapseKey!).ToArray()),
                new NpgsqlParameter<int[]>("Positions", keyed.Select(k => k.Position).ToArray()),
            },
        };
    }

    /// <summary>Reads the replaced rows from the statement's result set (<paramref name="async"/> false: synchronously, the task returned has completed).</summary>
    public static async Task<List<ReplacedNotification>> ReadReplacedAsync(NpgsqlDataReader results, bool async)
    {
        var replaced = new List<ReplacedNotification>();
        while (async ? await results.ReadAsync() : results.Read())
        {
            replaced.Add(new ReplacedNotification(results.GetInt64(0), results.GetString(1), results.GetInt64(2)));
        }
        return replaced;
    }
}
