using Npgsql;
using Realtime.Server.Broadcasts;
using Realtime.Server.Storage;

namespace Realtime.Server.Notifications;

/// <summary>
/// One group-commit transaction. Without idempotency keys it is one round trip: a batch with no
/// explicit transaction, which PostgreSQL runs as one implicit transaction committed at its end:
/// add to unread counters (<see cref="UnreadCounts"/>, which may wait for row locks), then take the
/// id lock and allocate (<see cref="IdAllocator"/>), insert (<see cref="NotificationStore"/>,
/// <see cref="BroadcastStore"/>), COMMIT. The id lock is thus held only inside PostgreSQL (inserts
/// and the commit's WAL flush), never across a network round trip. With keys, a first round trip
/// claims them (<see cref="IdempotencyStore"/>: which sends go ahead depends on it), then the same
/// batch also records what each key created, then COMMIT. The stores own their SQL; this class
/// only orders them. With <c>async: false</c> every statement is run synchronously (only the
/// disposal after a failure may still await): the commit thread of <see cref="GroupCommitQueue"/>
/// waits for PostgreSQL on its own thread, with no thread-pool hop between an answer and the next step.
/// </summary>
internal static class SendBatchTransaction
{
    /// <summary>
    /// Writes <paramref name="accepted"/> (sends first, then broadcasts: ids are given in that
    /// order), moving into <paramref name="keyTaken"/> the sends whose key a live earlier send
    /// holds. Reports the allocated range (first id, count) before the inserts run, and
    /// <paramref name="committing"/> once a failure may no longer mean a rollback (COMMIT sent, or
    /// the connection failed during the one-round-trip batch). Returns the older notifications that
    /// new ones with the same collapse key replaced, and the recipients' unread counts as it left them.
    /// </summary>
    public static async Task<BatchWrites> CommitAsync(NpgsqlDataSource dataSource, List<PendingSend> accepted, List<PendingSend> keyTaken,
        DateTime createdAt, Action<long, int> allocated, Action committing, bool async)
    {
        await using var connection = async ? await dataSource.OpenConnectionAsync() : dataSource.OpenConnection();
        var keys = accepted.Where(p => p.Send.IdempotencyKey is not null).Select(p => (p.Sender, p.Send.IdempotencyKey!, p.RequestHash!)).ToList();
        if (keys.Count == 0)
        {
            var rows = accepted.Sum(p => p.Send.RowCount);
            try
            {
                return await WriteAsync(connection, transaction: null, accepted, rows, createdAt, firstId => allocated(firstId, rows), async);
            }
            catch (PostgresException ex) when (ex.Severity is not ("FATAL" or "PANIC"))
            {
                throw; // PostgreSQL refused a statement (or the commit): the implicit transaction rolled back
            }
            catch
            {
                committing(); // the connection failed: the commit at the batch's end may have happened
                throw;
            }
        }

        await using var transaction = async ? await connection.BeginTransactionAsync() : connection.BeginTransaction();
        var claimed = await IdempotencyStore.ClaimAsync(connection, transaction, keys, createdAt, async);
        bool KeyTaken(PendingSend p) => p.Send.IdempotencyKey is { } key && !claimed.Contains((p.Sender, key));
        keyTaken.AddRange(accepted.Where(KeyTaken));
        accepted.RemoveAll(KeyTaken);

        var rowCount = accepted.Sum(p => p.Send.RowCount);
        var writes = BatchWrites.None;
        if (rowCount > 0)
        {
            writes = await WriteAsync(connection, transaction, accepted, rowCount, createdAt, firstId => allocated(firstId, rowCount), async);
        }
        committing();
        if (async)
        {
            await transaction.CommitAsync();
        }
        else
        {
            transaction.Commit();
        }
        return writes;
    }

    /// <summary>
    /// One round trip: add to unread counters, lock and allocate (its first id reported through
    /// <paramref name="allocated"/> before the inserts run, so a batch that fails after allocating
    /// can publish its range empty), insert notifications (their contents, then a row per
    /// recipient), replace older ones with the same collapse key, insert broadcasts, record
    /// what each idempotency key created, and read the recipients' unread counts (so that no query
    /// follows the commit for them). Without
    /// <paramref name="transaction"/> the batch is its own transaction, committed at its end.
    /// </summary>
    private static async Task<BatchWrites> WriteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, List<PendingSend> accepted, int rowCount, DateTime createdAt, Action<long> allocated, bool async)
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
            int IndexOf(NotificationContent content)
            {
                if (!contentIndexes.TryGetValue(content, out var index))
                {
                    index = contents.Count;
                    contentIndexes.Add(content, index);
                    contents.Add(content);
                }
                return index;
            }
            // A template send's recipients may read different texts (one per locale); any other send's read one.
            var shared = pending.Send.TextByUser is null ? IndexOf(pending.Send.ContentFor(null)) : -1;
            var expiresAt = pending.Send.ExpiresAt(createdAt);
            foreach (var userId in pending.Send.UserIds)
            {
                var index = shared >= 0 ? shared : IndexOf(pending.Send.ContentFor(userId));
                rows.Add(new NotificationRecipient(userId, index, expiresAt, pending.Send.CollapseKey));
                if (pending.Send.IdempotencyKey is { } key)
                {
                    keyed.Add((pending.Sender, key, rows.Count, userId));
                }
            }
        }

        await using var batch = new NpgsqlBatch(connection, transaction);
        // Before the id lock: it may wait for a counter row that a reader holds.
        if (rows.Count > 0)
        {
            batch.BatchCommands.Add(UnreadCounts.IncrementCommand(rows.Select(r => r.UserId)));
        }
        batch.BatchCommands.Add(IdAllocator.Allocate(rowCount));
        var inserts = new List<NpgsqlBatchCommand>(2);
        if (rows.Count > 0)
        {
            var (insertContents, insertRecipients) = NotificationStore.InsertCommands(contents, rows, IdAllocator.IdBase(0, rowCount), createdAt);
            batch.BatchCommands.Add(insertContents);
            batch.BatchCommands.Add(insertRecipients);
            inserts.Add(insertRecipients);
            if (CollapseStore.ReplaceOlderCommand(rows, IdAllocator.IdBase(0, rowCount)) is { } replaceOlder)
            {
                batch.BatchCommands.Add(replaceOlder);
            }
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
        if (rows.Count > 0)
        {
            batch.BatchCommands.Add(UnreadCounts.SelectCommand(rows.Select(r => r.UserId), createdAt));
        }
        // Read statement by statement: the allocated range must be in hand before a later statement's error is raised.
        // The reader skips statements that return no rows (the counters): it starts at the allocation's row.
        await using var results = async ? await batch.ExecuteReaderAsync() : batch.ExecuteReader();
        if (!(async ? await results.ReadAsync() : results.Read()))
        {
            throw new InvalidOperationException("Allocating notification ids returned no row.");
        }
        allocated(results.GetInt64(0));
        var replaced = new List<ReplacedNotification>();
        IReadOnlyDictionary<string, int> counts = BatchWrites.None.UnreadCounts;
        while (async ? await results.NextResultAsync() : results.NextResult())
        {
            // The only other statements that return rows: what collapse keys replaced, and the unread counts.
            if (UnreadCounts.IsCountsResult(results))
            {
                counts = await UnreadCounts.ReadRowsAsync(results, async);
            }
            else
            {
                replaced.AddRange(await CollapseStore.ReadReplacedAsync(results, async));
            }
        }
        var inserted = inserts.Sum(c => c.RecordsAffected);
        if (inserted != rowCount)
        {
            throw new InvalidOperationException($"The insert stored {inserted} of {rowCount} rows.");
        }
        return new BatchWrites(replaced, counts);
    }
}

/// <summary>
/// What a committed batch changed besides its inserts: the older notifications its collapse keys
/// replaced, and each recipient's unread count as the commit left it.
/// </summary>
internal sealed record BatchWrites(IReadOnlyList<ReplacedNotification> Replaced, IReadOnlyDictionary<string, int> UnreadCounts)
{
    public static readonly BatchWrites None = new([], new Dictionary<string, int>());
}
