using System.Text.Json;
using System.Threading.Channels;
using Dapper;
using Npgsql;
using Realtime.Server.Bus;
using Realtime.Server.Storage;

namespace Realtime.Server.Notifications;

/// <summary>
/// The write path: appends sends to PostgreSQL with group commit (every send waiting when a
/// transaction starts shares it), allocates ids in commit order, answers only after COMMIT, then
/// publishes the committed batch, serialized once, on the bus.
/// </summary>
/// <remarks>
/// Ids grow in commit order because they are allocated under a transaction-scoped advisory lock
/// taken right before <c>nextval</c> and held until commit, from a sequence with CACHE 1. Work
/// that may wait (idempotency claims, counter row locks) happens before the lock, so the locked
/// part is a single statement plus COMMIT.
/// </remarks>
internal sealed partial class NotificationLog(
    NpgsqlDataSource dataSource,
    IMessageBus bus,
    TimeProvider time,
    ILogger<NotificationLog> logger) : BackgroundService
{
    /// <summary>Bounds one transaction; a single send may still carry it past this by up to 1,000 rows.</summary>
    public const int MaxRowsPerTransaction = 5_000;

    private const string ClaimKeys = """
        INSERT INTO idempotency_keys AS k (sender, key, request_hash, created_at)
        SELECT t.sender, t.key, t.request_hash, @Now
        FROM unnest(@Senders::text[], @Keys::text[], @Hashes::bytea[]) AS t(sender, key, request_hash)
        ORDER BY t.sender, t.key
        ON CONFLICT (sender, key) DO UPDATE
            SET request_hash = EXCLUDED.request_hash, created_at = EXCLUDED.created_at, notification_ids = NULL, user_ids = NULL
            WHERE k.created_at <= @StaleBefore
        RETURNING sender AS Sender, key AS Key
        """;

    private const string IncrementCounters = """
        INSERT INTO user_counters AS c (user_id, unread)
        SELECT t.user_id, t.added FROM unnest(@UserIds::text[], @Added::int[]) AS t(user_id, added)
        ORDER BY t.user_id
        ON CONFLICT (user_id) DO UPDATE SET unread = c.unread + EXCLUDED.unread
        """;

    /// <summary>
    /// Two statements in one round trip: the first takes the lock and allocates the ids (so a batch
    /// that fails afterwards still knows its range and can publish it empty at once), the second
    /// inserts, reading the range back with <c>currval</c> (this session's, exact).
    /// </summary>
    private const string LockAllocateInsert = """
        WITH locked AS MATERIALIZED (
            SELECT pg_advisory_xact_lock(@LockKey))
        SELECT setval('notification_ids', nextval('notification_ids') + @Count - 1) - @Count + 1 AS first_id FROM locked;

        WITH allocated AS MATERIALIZED (
            SELECT currval('notification_ids') - @Count + 1 AS first_id),
        inserted AS (
            INSERT INTO notifications (id, user_id, category, title, body, data, link, priority, created_at, expires_at)
            SELECT allocated.first_id + t.ordinal - 1, t.user_id, t.category, t.title, t.body, t.data::jsonb, t.link, t.priority, @CreatedAt, t.expires_at
            FROM allocated,
                 unnest(@UserIds::text[], @Categories::text[], @Titles::text[], @Bodies::text[], @Datas::text[],
                        @Links::text[], @Priorities::text[], @ExpiresAts::timestamptz[])
                 WITH ORDINALITY AS t(user_id, category, title, body, data, link, priority, expires_at, ordinal)
            RETURNING 1),
        broadcast AS (
            INSERT INTO broadcasts (id, sender, category, title, body, data, link, priority, created_at, expires_at)
            SELECT allocated.first_id + @NotificationCount + b.ordinal - 1, b.sender, b.category, b.title, b.body, b.data::jsonb, b.link, b.priority, @CreatedAt, b.expires_at
            FROM allocated,
                 unnest(@BroadcastSenders::text[], @BroadcastCategories::text[], @BroadcastTitles::text[], @BroadcastBodies::text[],
                        @BroadcastDatas::text[], @BroadcastLinks::text[], @BroadcastPriorities::text[], @BroadcastExpiresAts::timestamptz[])
                 WITH ORDINALITY AS b(sender, category, title, body, data, link, priority, expires_at, ordinal)
            RETURNING 1)
        SELECT first_id FROM allocated
        WHERE (SELECT count(*) FROM inserted) + (SELECT count(*) FROM broadcast) = @Count
        """;

    private const string RecordKeyResults = """
        UPDATE idempotency_keys k SET notification_ids = t.ids, user_ids = t.user_ids
        FROM (
            SELECT r.sender, r.key, array_agg(r.id ORDER BY r.id) AS ids, array_agg(r.user_id ORDER BY r.id) AS user_ids
            FROM unnest(@Senders::text[], @Keys::text[], @Ids::bigint[], @Recipients::text[]) AS r(sender, key, id, user_id)
            GROUP BY r.sender, r.key) t
        WHERE k.sender = t.sender AND k.key = t.key
        """;

    private readonly Channel<PendingSend> _pending = Channel.CreateUnbounded<PendingSend>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Sends waiting for the next transaction (tests use it to line up a batch).</summary>
    internal int QueuedSends => Volatile.Read(ref _queued);

    private int _queued;

    /// <summary>Appends one send; completes once it is committed (or, for a key already used, once that is known).</summary>
    public async Task<AppendOutcome> AppendAsync(ValidatedSend send, string sender, CancellationToken cancellationToken)
    {
        var pending = new PendingSend(send, sender, send.IdempotencyKey is null ? null : send.ComputeHash());
        Interlocked.Increment(ref _queued);
        if (!_pending.Writer.TryWrite(pending))
        {
            Interlocked.Decrement(ref _queued);
            throw new InvalidOperationException("The notification log has stopped.");
        }
        return await pending.Completion.Task.WaitAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<PendingSend>();
        try
        {
            while (await _pending.Reader.WaitToReadAsync(stoppingToken))
            {
                batch.Clear();
                var rows = 0;
                while (rows < MaxRowsPerTransaction && _pending.Reader.TryRead(out var next))
                {
                    Interlocked.Decrement(ref _queued);
                    batch.Add(next);
                    rows += next.Send.RowCount;
                }
                // The transaction is not cancelled by shutdown: a send either commits or fails whole.
                await CommitAsync(batch);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _pending.Writer.TryComplete();
            var stopped = new OperationCanceledException("The server is shutting down.");
            foreach (var pending in batch.Concat(_pending.Reader.ReadAllAsync(CancellationToken.None).ToBlockingEnumerable()))
            {
                pending.Completion.TrySetException(stopped);
            }
        }
    }

    /// <summary>
    /// Commits <paramref name="batch"/> in one transaction. When that fails for a reason that is
    /// not an outage, the fault is one send's (data PostgreSQL refuses that validation did not
    /// catch) or a bug: the batch is committed again in halves, down to single sends, so every
    /// innocent send commits and only the culprit gets its error. An outage fails the whole batch
    /// (503 with Retry-After: nothing was written). Each part takes the lock on its own, so ids
    /// still grow in commit order.
    /// </summary>
    private async Task CommitAsync(List<PendingSend> batch)
    {
        var failure = await TryCommitAsync(batch);
        if (failure is null)
        {
            return;
        }
        if (batch.Count > 1 && !DatabaseErrors.IsUnavailable(failure))
        {
            LogIsolatingFailure(logger, batch.Count, failure.Message);
            var half = batch.Count / 2;
            await CommitAsync(batch[..half]);
            await CommitAsync(batch[half..]);
            return;
        }
        Exception answer = failure;
        if (batch.Count == 1 && DatabaseErrors.IsRefusedData(failure))
        {
            LogSendRefused(logger, batch[0].Sender, failure.Message);
            answer = new SendRefusedException(failure);
        }
        else
        {
            LogCommitFailed(logger, batch.Count, failure);
        }
        foreach (var pending in batch)
        {
            pending.Completion.TrySetException(answer);
        }
    }

    /// <summary>Completes every send of <paramref name="batch"/> when it commits; returns the failure otherwise, completing nothing.</summary>
    private async Task<Exception?> TryCommitAsync(List<PendingSend> batch)
    {
        var createdAt = TruncateToMilliseconds(time.GetUtcNow().UtcDateTime);
        var (accepted, keyTaken) = SplitInBatchDuplicateKeys(batch);
        // Ids go to sends first, then broadcasts: the insert statement allocates them in that order.
        accepted = accepted.OrderBy(p => p.Send.Broadcast).ToList();
        long firstId = 0;
        var rowCount = 0;
        var committing = false;
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var transaction = await connection.BeginTransactionAsync();

            var claimed = await ClaimKeysAsync(connection, transaction, accepted, createdAt);
            keyTaken.AddRange(accepted.Where(p => p.Send.IdempotencyKey is not null && !claimed.Contains((p.Sender, p.Send.IdempotencyKey))));
            accepted.RemoveAll(p => p.Send.IdempotencyKey is not null && !claimed.Contains((p.Sender, p.Send.IdempotencyKey)));

            rowCount = accepted.Sum(p => p.Send.RowCount);
            if (rowCount > 0)
            {
                await IncrementCountersAsync(connection, transaction, accepted);
                firstId = await InsertAsync(connection, transaction, accepted, rowCount, createdAt, allocated => firstId = allocated);
                await RecordKeyResultsAsync(connection, transaction, accepted, firstId);
            }
            committing = true;
            await transaction.CommitAsync();
        }
        catch (Exception ex)
        {
            if (firstId > 0 && !committing)
            {
                // Failed before COMMIT was sent, so certainly rolled back: its ids will never hold anything.
                // Say so at once, so no sequencer waits for them. (A failed COMMIT may have committed: sequencers read that range.)
                await PublishAsync(new NotificationBatch(firstId, firstId + rowCount - 1, []));
            }
            return ex;
        }

        var items = new List<SequencedNotification>();
        var nextId = firstId;
        foreach (var pending in accepted)
        {
            var sent = new List<SentNotification>(pending.Send.RowCount);
            if (pending.Send.Broadcast)
            {
                items.Add(Serialize(nextId, userId: null, pending.Send, createdAt));
                sent.Add(new SentNotification(nextId++, UserId: ""));
            }
            foreach (var userId in pending.Send.UserIds)
            {
                items.Add(Serialize(nextId, userId, pending.Send, createdAt));
                sent.Add(new SentNotification(nextId++, userId));
            }
            pending.Completion.TrySetResult(AppendOutcome.Created(sent));
        }
        foreach (var pending in keyTaken)
        {
            pending.Completion.TrySetResult(AppendOutcome.KeyAlreadyUsed);
        }

        if (items.Count > 0)
        {
            await PublishAsync(new NotificationBatch(firstId, nextId - 1, items));
        }
        return null;
    }

    /// <summary>Two sends with one sender and key in the same transaction: the first claims the key.</summary>
    private static (List<PendingSend> Accepted, List<PendingSend> KeyTaken) SplitInBatchDuplicateKeys(List<PendingSend> batch)
    {
        var accepted = new List<PendingSend>(batch.Count);
        var keyTaken = new List<PendingSend>();
        var keys = new HashSet<(string, string)>();
        foreach (var pending in batch)
        {
            if (pending.Send.IdempotencyKey is { } key && !keys.Add((pending.Sender, key)))
            {
                keyTaken.Add(pending);
            }
            else
            {
                accepted.Add(pending);
            }
        }
        return (accepted, keyTaken);
    }

    private static async Task<HashSet<(string, string)>> ClaimKeysAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, List<PendingSend> accepted, DateTime now)
    {
        var keyed = accepted.Where(p => p.Send.IdempotencyKey is not null).ToList();
        if (keyed.Count == 0)
        {
            return [];
        }
        var claimed = await connection.QueryAsync<(string Sender, string Key)>(new CommandDefinition(ClaimKeys, new
        {
            Now = now,
            StaleBefore = now - IdempotencyStore.KeyLifetime,
            Senders = keyed.Select(p => p.Sender).ToArray(),
            Keys = keyed.Select(p => p.Send.IdempotencyKey!).ToArray(),
            Hashes = keyed.Select(p => p.RequestHash!).ToArray(),
        }, transaction));
        return claimed.ToHashSet();
    }

    private static Task IncrementCountersAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, List<PendingSend> accepted)
    {
        var added = accepted.SelectMany(p => p.Send.UserIds).GroupBy(u => u, StringComparer.Ordinal).ToList();
        return connection.ExecuteAsync(new CommandDefinition(IncrementCounters, new
        {
            UserIds = added.Select(g => g.Key).ToArray(),
            Added = added.Select(g => g.Count()).ToArray(),
        }, transaction));
    }

    /// <summary>Allocates the ids (reported through <paramref name="allocated"/> before the insert runs) and inserts; returns the first id.</summary>
    private static async Task<long> InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, List<PendingSend> accepted, int rowCount, DateTime createdAt, Action<long> allocated)
    {
        var rows = accepted.SelectMany(p => p.Send.UserIds.Select(userId => (UserId: userId, p.Send))).ToList();
        var broadcasts = accepted.Where(p => p.Send.Broadcast).ToList();
        // A plain reader, read statement by statement: the first result (the allocated range) must be
        // in hand before the second statement's error, if any, is raised.
        await using var results = await connection.ExecuteReaderAsync(new CommandDefinition(LockAllocateInsert, new
        {
            LockKey = AdvisoryLocks.NotificationIds,
            Count = rowCount,
            NotificationCount = rows.Count,
            CreatedAt = createdAt,
            UserIds = rows.Select(r => r.UserId).ToArray(),
            Categories = rows.Select(r => r.Send.Category).ToArray(),
            Titles = rows.Select(r => r.Send.Title).ToArray(),
            Bodies = rows.Select(r => r.Send.Body).ToArray(),
            Datas = rows.Select(r => r.Send.DataJson).ToArray(),
            Links = rows.Select(r => r.Send.Link).ToArray(),
            Priorities = rows.Select(r => r.Send.Priority).ToArray(),
            ExpiresAts = rows.Select(r => ExpiresAt(r.Send, createdAt)).ToArray(),
            BroadcastSenders = broadcasts.Select(p => p.Sender).ToArray(),
            BroadcastCategories = broadcasts.Select(p => p.Send.Category).ToArray(),
            BroadcastTitles = broadcasts.Select(p => p.Send.Title).ToArray(),
            BroadcastBodies = broadcasts.Select(p => p.Send.Body).ToArray(),
            BroadcastDatas = broadcasts.Select(p => p.Send.DataJson).ToArray(),
            BroadcastLinks = broadcasts.Select(p => p.Send.Link).ToArray(),
            BroadcastPriorities = broadcasts.Select(p => p.Send.Priority).ToArray(),
            BroadcastExpiresAts = broadcasts.Select(p => ExpiresAt(p.Send, createdAt)).ToArray(),
        }, transaction));
        if (!await results.ReadAsync())
        {
            throw new InvalidOperationException("Allocating notification ids returned no row.");
        }
        var firstId = results.GetInt64(0);
        allocated(firstId);
        if (!await results.NextResultAsync() || !await results.ReadAsync())
        {
            throw new InvalidOperationException("The insert stored fewer rows than it was given.");
        }
        return results.GetInt64(0);
    }

    /// <summary>Stores, per claimed key, the ids it created: one row per notification, grouped in SQL.</summary>
    private static Task RecordKeyResultsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, List<PendingSend> accepted, long firstId)
    {
        var senders = new List<string>();
        var keys = new List<string>();
        var ids = new List<long>();
        var recipients = new List<string>();
        var nextId = firstId;
        foreach (var pending in accepted)
        {
            foreach (var userId in pending.Send.UserIds)
            {
                if (pending.Send.IdempotencyKey is { } key)
                {
                    senders.Add(pending.Sender);
                    keys.Add(key);
                    ids.Add(nextId);
                    recipients.Add(userId);
                }
                nextId++;
            }
        }
        if (senders.Count == 0)
        {
            return Task.CompletedTask;
        }
        return connection.ExecuteAsync(new CommandDefinition(RecordKeyResults, new
        {
            Senders = senders.ToArray(),
            Keys = keys.ToArray(),
            Ids = ids.ToArray(),
            Recipients = recipients.ToArray(),
        }, transaction));
    }

    private async Task PublishAsync(NotificationBatch batch)
    {
        try
        {
            await bus.PublishAsync(batch, CancellationToken.None);
        }
        catch (Exception ex)
        {
            // Committed is committed: the sequencers of other nodes read a lost range from PostgreSQL.
            LogPublishFailed(logger, batch.FirstId, batch.LastId, ex);
        }
    }

    /// <summary>Serialized once for every connection; a broadcast has no user, so one message serves all.</summary>
    private static SequencedNotification Serialize(long id, string? userId, ValidatedSend send, DateTime createdAt)
    {
        var expiresAt = ExpiresAt(send, createdAt);
        var notification = new Notification(id, userId, send.Category, send.Title, send.Body,
            send.DataJson is null ? null : RawJson.FromText(send.DataJson), send.Link, send.Priority,
            send.Broadcast, createdAt, expiresAt, ReadAt: null);
        var json = JsonSerializer.SerializeToUtf8Bytes(notification, RealtimeJsonContext.Default.Notification);
        return new SequencedNotification(id, userId, createdAt, expiresAt, new RawJson(json));
    }

    private static DateTime? ExpiresAt(ValidatedSend send, DateTime createdAt) =>
        send.TtlSeconds is { } ttl ? createdAt.AddSeconds(ttl) : null;

    internal static DateTime TruncateToMilliseconds(DateTime value) =>
        new(value.Ticks - value.Ticks % TimeSpan.TicksPerMillisecond, DateTimeKind.Utc);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Commit of {SendCount} sends failed")]
    private static partial void LogCommitFailed(ILogger logger, int sendCount, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Commit of {SendCount} sends failed ({Reason}); committing them in halves to find the send at fault")]
    private static partial void LogIsolatingFailure(ILogger logger, int sendCount, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "PostgreSQL refused a send of {Sender}: {Reason}")]
    private static partial void LogSendRefused(ILogger logger, string sender, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Publishing committed ids {FirstId}..{LastId} failed; other nodes will read them from PostgreSQL")]
    private static partial void LogPublishFailed(ILogger logger, long firstId, long lastId, Exception exception);

    private sealed class PendingSend(ValidatedSend send, string sender, byte[]? requestHash)
    {
        public ValidatedSend Send { get; } = send;
        public string Sender { get; } = sender;
        public byte[]? RequestHash { get; } = requestHash;
        public TaskCompletionSource<AppendOutcome> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>What became of an append: the notifications created, or "this sender already used this key".</summary>
internal sealed record AppendOutcome(IReadOnlyList<SentNotification>? Notifications)
{
    public static readonly AppendOutcome KeyAlreadyUsed = new((IReadOnlyList<SentNotification>?)null);

    public static AppendOutcome Created(IReadOnlyList<SentNotification> notifications) => new(notifications);
}
