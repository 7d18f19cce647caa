using System.Text.Json;
using Dapper;
using Npgsql;
using Realtime.Server.Bus;
using Realtime.Server.Contracts;
using Realtime.Server.Notifications;
using Realtime.Server.Storage;

namespace Realtime.Server.Live;

/// <summary>What the sequencer reads from PostgreSQL: where the id sequence stands, and id ranges it missed.</summary>
internal sealed class SequenceStore(NpgsqlDataSource dataSource)
{
    /// <summary>Taken under the id lock, so no batch is between allocation and commit: every id up to it is settled.</summary>
    private const string SelectPosition = """
        WITH locked AS MATERIALIZED (SELECT pg_advisory_xact_lock(@LockKey))
        SELECT (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM notification_ids) FROM locked
        """;

    /// <summary>Notifications and broadcasts share the id space; a broadcast is read without any user's receipt.</summary>
    private const string SelectRange = $"""
        SELECT {NotificationRow.Columns}
        FROM {NotificationRow.Source}
        WHERE n.id BETWEEN @From AND @To
        UNION ALL
        SELECT {NotificationRow.BroadcastColumns}
        FROM broadcasts b LEFT JOIN broadcast_receipts r ON false
        WHERE b.id BETWEEN @From AND @To
        ORDER BY id
        """;

    private const string SelectFrom = $"""
        SELECT * FROM (
            (SELECT {NotificationRow.Columns} FROM {NotificationRow.Source} WHERE n.id >= @From ORDER BY n.id LIMIT @Limit)
            UNION ALL
            (SELECT {NotificationRow.BroadcastColumns}
             FROM broadcasts b LEFT JOIN broadcast_receipts r ON false
             WHERE b.id >= @From ORDER BY b.id LIMIT @Limit)) merged
        ORDER BY id
        LIMIT @Limit
        """;

    /// <summary>The highest id allocated so far (0 when none).</summary>
    public async Task<long> LastAllocatedIdAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var position = await connection.QuerySingleAsync<long>(new CommandDefinition(SelectPosition,
            new { LockKey = AdvisoryLocks.NotificationIds }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return position;
    }

    /// <summary>The committed notifications with ids in [<paramref name="from"/>, <paramref name="to"/>], in id order.</summary>
    public async Task<IReadOnlyList<SequencedNotification>> ReadRangeAsync(long from, long to, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<NotificationRow>(new CommandDefinition(SelectRange, new { From = from, To = to }, cancellationToken: cancellationToken));
        return rows.Select(ToSequenced).ToList();
    }

    /// <summary>
    /// Up to <paramref name="limit"/> committed notifications from <paramref name="from"/> on, in id
    /// order. Ids grow in commit order, so every id below the highest one returned is settled.
    /// </summary>
    public async Task<IReadOnlyList<SequencedNotification>> ReadFromAsync(long from, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<NotificationRow>(new CommandDefinition(SelectFrom, new { From = from, Limit = limit }, cancellationToken: cancellationToken));
        return rows.Select(ToSequenced).ToList();
    }

    private static SequencedNotification ToSequenced(NotificationRow row)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(row.ToNotification(), RealtimeJsonContext.Default.Notification);
        return new SequencedNotification(row.Id, row.UserId, row.CreatedAt, row.ExpiresAt, new RawJson(json));
    }
}
