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
    /// </summary>
    public static async Task CommitAsync(NpgsqlDataSource dataSource, List<PendingSend> accepted, List<PendingSend> keyTaken,
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
        if (rowCount > 0)
        {
            await UnreadCounts.IncrementAsync(connection, transaction, accepted.SelectMany(p => p.Send.UserIds));
            await InsertAsync(connection, transaction, accepted, rowCount, createdAt, firstId => allocated(firstId, rowCount));
        }
        committing();
        await transaction.CommitAsync();
    }

    /// <summary>
    /// One round trip: lock and allocate (its first id reported through <paramref name="allocated"/>
    /// before the inserts run, so a batch that fails after allocating can publish its range empty),
    /// insert notifications (their contents, then a row per recipient) then broadcasts, and record what each idempotency key created.
    /// </summary>
    private static async Task InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, List<PendingSend> accepted, int rowCount, DateTime createdAt, Action<long> allocated)
    {
        // Equal contents of the batch share one row (one dictionary look-up per send, not per recipient).
        var contents = new List<NotificationContent>();
        var contentIndexes = new Dictionary<NotificationContent, int>();
        var rows = new List<NotificationRecipient>(rowCount);
        var broadcasts = new List<(string Sender, ValidatedSend Send)>();
        var keyed = new List<(string Sender, string Key, long Position, string UserId)>();
        foreach (var pending in accepted)
        {
            if (pending.Send.Broadcast)
            {
                broadcasts.Add((pending.Sender, pending.Send));
                continue;
            }
            var content = pending.Send.Content;
            if (!contentIndexes.TryGetValue(content, out var index))
            {
                index = contents.Count;
                contentIndexes.Add(content, index);
                contents.Add(content);
            }
            var expiresAt = pending.Send.ExpiresAt(createdAt);
            foreach (var userId in pending.Send.UserIds)
            {
                rows.Add(new NotificationRecipient(userId, index, expiresAt));
                if (pending.Send.IdempotencyKey is { } key)
                {
                    keyed.Add((pending.Sender, key, rows.Count, userId));
                }
            }
        }

        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(IdAllocator.Allocate(rowCount));
        var inserts = new List<NpgsqlBatchCommand>(2);
        if (rows.Count > 0)
        {
            var (insertContents, insertRecipients) = NotificationStore.InsertCommands(contents, rows, IdAllocator.IdBase(0, rowCount), createdAt);
            batch.BatchCommands.Add(insertContents);
            batch.BatchCommands.Add(insertRecipients);
            inserts.Add(insertRecipients);
        }
        if (broadcasts.Count > 0)
        {
            var insertBroadcasts = BroadcastStore.InsertCommand(broadcasts, IdAllocator.IdBase(rows.Count, rowCount), createdAt);
            batch.BatchCommands.Add(insertBroadcasts);
            inserts.Add(insertBroadcasts);
        }
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
        while (await results.NextResultAsync())
        {
        }
        var inserted = inserts.Sum(c => c.RecordsAffected);
        if (inserted != rowCount)
        {
            throw new InvalidOperationException($"The insert stored {inserted} of {rowCount} rows.");
        }
    }
}
