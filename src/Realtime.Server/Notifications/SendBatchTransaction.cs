using Npgsql;
using Realtime.Server.Broadcasts;
using Realtime.Server.Storage;

namespace Realtime.Server.Notifications;

/// <summary>
/// One group-commit transaction: claim idempotency keys (<see cref="IdempotencyStore"/>) and add
/// to unread counters (<see cref="UnreadCounts"/>), both of which may wait for row locks, then in
/// one round trip take the id lock and allocate (<see cref="IdAllocator"/>), insert
/// (<see cref="NotificationStore"/>, <see cref="BroadcastStore"/>) and record what each key
/// created, then COMMIT. The stores own their SQL; this class only orders them, so the locked
/// part is that one round trip plus COMMIT.
/// </summary>
internal static class SendBatchTransaction
{
    /// <summary>
    /// Writes <paramref name="accepted"/> (sends first, then broadcasts: ids are given in that
    /// order), moving into <paramref name="keyTaken"/> the sends whose key a live earlier send
    /// holds. Reports the allocated range (first id, count) before the inserts run, and when COMMIT is sent.
    /// Returns the older notifications that new ones with the same collapse key replaced.
    /// </summary>
    public static async Task<IReadOnlyList<ReplacedNotification>> CommitAsync(NpgsqlDataSource dataSource, List<PendingSend> accepted, List<PendingSend> keyTaken,
        DateTime createdAt, Action<long, int> allocated, Action committing)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        var claimed = await IdempotencyStore.ClaimAsync(connection, transaction,
            accepted.Where(p => p.Send.IdempotencyKey is not null).Select(p => (p.Sender, p.Send.IdempotencyKey!, p.RequestHash!)).ToList(), createdAt);
        bool KeyTaken(PendingSend p) => p.Send.IdempotencyKey is { } key && !claimed.Contains((p.Sender, key));
        keyTaken.AddRange(accepted.Where(KeyTaken));
        accepted.RemoveAll(KeyTaken);

        var rowCount = accepted.Sum(p => p.Send.RowCount);
        IReadOnlyList<ReplacedNotification> replaced = [];
        if (rowCount > 0)
        {
            await UnreadCounts.IncrementAsync(connection, transaction, accepted.SelectMany(p => p.Send.UserIds));
            replaced = await InsertAsync(connection, transaction, accepted, rowCount, createdAt, firstId => allocated(firstId, rowCount));
        }
        committing();
        await transaction.CommitAsync();
        return replaced;
    }

    /// <summary>
    /// One round trip: lock and allocate (its first id reported through <paramref name="allocated"/>
    /// before the inserts run, so a batch that fails after allocating can publish its range empty),
    /// insert notifications, replace older ones with the same collapse key, insert broadcasts, and
    /// record what each idempotency key created.
    /// </summary>
    private static async Task<List<ReplacedNotification>> InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, List<PendingSend> accepted, int rowCount, DateTime createdAt, Action<long> allocated)
    {
        var rows = new List<(string UserId, ValidatedSend Send)>(rowCount);
        var broadcasts = new List<(string Sender, ValidatedSend Send)>();
        var keyed = new List<(string Sender, string Key, long Position, string UserId)>();
        foreach (var pending in accepted)
        {
            if (pending.Send.Broadcast)
            {
                broadcasts.Add((pending.Sender, pending.Send));
                continue;
            }
            foreach (var userId in pending.Send.UserIds)
            {
                rows.Add((userId, pending.Send));
                if (pending.Send.IdempotencyKey is { } key)
                {
                    keyed.Add((pending.Sender, key, rows.Count, userId));
                }
            }
        }

        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(IdAllocator.Allocate(rowCount));
        if (rows.Count > 0)
        {
            batch.BatchCommands.Add(NotificationStore.InsertCommand(rows, IdAllocator.IdBase(0, rowCount), createdAt));
        }
        var inserts = batch.BatchCommands.Count - 1;
        if (CollapseStore.ReplaceOlderCommand(rows, IdAllocator.IdBase(0, rowCount)) is { } replaceOlder)
        {
            batch.BatchCommands.Add(replaceOlder);
        }
        if (broadcasts.Count > 0)
        {
            batch.BatchCommands.Add(BroadcastStore.InsertCommand(broadcasts, IdAllocator.IdBase(rows.Count, rowCount), createdAt));
        }
        var broadcastInsert = broadcasts.Count > 0 ? batch.BatchCommands[^1] : null;
        if (keyed.Count > 0)
        {
            batch.BatchCommands.Add(IdempotencyStore.RecordResultsCommand(keyed, IdAllocator.IdBase(0, rowCount)));
        }
        // Read statement by statement: the allocated range must be in hand before a later statement's error is raised.
        await using var results = await batch.ExecuteReaderAsync();
        if (!await results.ReadAsync())
        {
            throw new InvalidOperationException("Allocating notification ids returned no row.");
        }
        allocated(results.GetInt64(0));
        var replaced = new List<ReplacedNotification>();
        while (await results.NextResultAsync())
        {
            if (results.FieldCount > 0)
            {
                // The only other statement that returns rows.
                replaced.AddRange(await CollapseStore.ReadReplacedAsync(results));
            }
        }
        var inserted = (rows.Count > 0 ? batch.BatchCommands[inserts].RecordsAffected : 0) + (broadcastInsert?.RecordsAffected ?? 0);
        if (inserted != rowCount)
        {
            throw new InvalidOperationException($"The insert stored {inserted} of {rowCount} rows.");
        }
        return replaced;
    }
}
