using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Npgsql;
using Realtime.Server.Bus;
using Realtime.Server.Contracts;
using Realtime.Server.Observability;
using Realtime.Server.Storage;

namespace Realtime.Server.Notifications;

/// <summary>
/// Group commit: every send waiting when a transaction starts shares it; each answers only after
/// COMMIT; the committed batch, serialized once, is then published on the bus. The queue is
/// bounded: when it is full a send is refused at once (<see cref="CommitQueueFullException"/>, 503).
/// </summary>
/// <remarks>
/// What one transaction writes, and in which order, is <see cref="SendBatchTransaction"/>'s.
/// By default one transaction runs at a time, on a thread of the queue's own (see <c>RunOnThread</c>).
/// Up to <see cref="CommitQueueOptions.MaxTransactionsInFlight"/> transactions run at once, each on
/// its own connection: the next starts while the previous one's COMMIT is in flight, so a send does
/// not wait for a whole transaction's round trip before its own begins. PostgreSQL keeps them in
/// order: each takes the id lock (held until its COMMIT) after its counter rows, so ids still grow
/// in commit order, and two transactions with a recipient in common commit one after the other.
/// They may finish, answer and publish in either order; the sequencers deliver by id.
/// </remarks>
internal sealed partial class GroupCommitQueue(
    NpgsqlDataSource dataSource,
    IMessageBus bus,
    TimeProvider time,
    IOptions<CommitQueueOptions> options,
    RealtimeMetrics metrics,
    ILogger<GroupCommitQueue> logger) : BackgroundService
{
    /// <summary>Bounds one transaction; a single send may still carry it past this by up to 1,000 rows.</summary>
    public const int MaxRowsPerTransaction = 5_000;

    private readonly SemaphoreSlim _slots = new(options.Value.MaxTransactionsInFlight, options.Value.MaxTransactionsInFlight);

    private readonly Channel<PendingSend> _pending = Channel.CreateBounded<PendingSend>(new BoundedChannelOptions(options.Value.MaxQueuedSends)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    /// <summary>Sends waiting for the next transaction (tests use it to line up a batch).</summary>
    internal int QueuedSends => Volatile.Read(ref _queued);

    /// <summary>Set when a send is queued: wakes the commit thread (one transaction in flight).</summary>
    private readonly ManualResetEventSlim _wake = new(initialState: false, spinCount: 0);

    private int _queued;
    private bool _stopped;

    /// <summary>
    /// Appends one send; completes once it is committed (or, for a key already used, once that is
    /// known). <paramref name="cancellationToken"/> only refuses a send not queued yet: once queued it
    /// commits or fails whole, and the caller waits for that (bounded by the transaction) rather than
    /// registering on the token for every send.
    /// </summary>
    public async Task<AppendOutcome> AppendAsync(ValidatedSend send, string sender, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var trace = RealtimeTracing.CurrentForDelivery();
        using var span = RealtimeTracing.StartSendCommit(send.RowCount);
        var pending = new PendingSend(send, sender, send.IdempotencyKey is null ? null : send.ComputeHash()) { Span = span, Trace = trace };
        Interlocked.Increment(ref _queued);
        if (!_pending.Writer.TryWrite(pending))
        {
            Interlocked.Decrement(ref _queued);
            throw Volatile.Read(ref _stopped) ? new InvalidOperationException("The commit queue has stopped.") : new CommitQueueFullException();
        }
        _wake.Set();
        return await pending.Completion.Task;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.MaxTransactionsInFlight > 1)
        {
            return RunPipelinedAsync(stoppingToken);
        }
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                RunOnThread(stoppingToken);
                stopped.TrySetResult();
            }
            catch (Exception ex)
            {
                stopped.TrySetException(ex);
            }
        })
        { IsBackground = true, Name = "realtime-group-commit" };
        thread.Start();
        return stopped.Task;
    }

    /// <summary>
    /// One transaction at a time, on a thread of its own that waits for PostgreSQL synchronously:
    /// a send queued while the thread sleeps wakes it directly, and PostgreSQL's answer wakes it
    /// directly too, so neither waits in the thread pool's queue behind the requests (the hop that
    /// costs most when the pool is busiest). Delivery on this node starts on this thread too (the
    /// in-process bus hands the committed batch to the sequencer), before the next transaction.
    /// </summary>
    private void RunOnThread(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (TakeBatch() is not { } batch)
                {
                    // Reset, then look again: a send written after the look sets the event, one before it is found.
                    _wake.Reset();
                    if (TakeBatch() is not { } late)
                    {
                        _wake.Wait(stoppingToken);
                        continue;
                    }
                    batch = late;
                }
                CommitOrFail(batch, async: false).GetAwaiter().GetResult();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            Stop();
        }
    }

    /// <summary>Up to <see cref="CommitQueueOptions.MaxTransactionsInFlight"/> transactions at once, on the thread pool.</summary>
    private async Task RunPipelinedAsync(CancellationToken stoppingToken)
    {
        var running = new List<Task>();
        try
        {
            while (await _pending.Reader.WaitToReadAsync(stoppingToken))
            {
                await _slots.WaitAsync(stoppingToken);
                if (TakeBatch() is not { } batch)
                {
                    _slots.Release();
                    continue;
                }
                running.RemoveAll(task => task.IsCompleted);
                running.Add(CommitInSlotAsync(batch));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // The transactions under way are not cancelled by shutdown: a send either commits or fails whole.
            await Task.WhenAll(running);
            Stop();
        }
    }

    /// <summary>The sends waiting now, up to <see cref="MaxRowsPerTransaction"/> rows; null when none is.</summary>
    private List<PendingSend>? TakeBatch()
    {
        List<PendingSend>? batch = null;
        var rows = 0;
        while (rows < MaxRowsPerTransaction && _pending.Reader.TryRead(out var next))
        {
            Interlocked.Decrement(ref _queued);
            (batch ??= []).Add(next);
            rows += next.Send.RowCount;
        }
        return batch;
    }

    /// <summary>Shutting down: no send is taken any more, and those still queued fail.</summary>
    private void Stop()
    {
        Volatile.Write(ref _stopped, true);
        _pending.Writer.TryComplete();
        var stopped = new OperationCanceledException("The server is shutting down.");
        while (_pending.Reader.TryRead(out var pending))
        {
            pending.Completion.TrySetException(stopped);
        }
    }

    /// <summary>Commits <paramref name="batch"/> in a slot taken by the caller, and frees it; never throws.</summary>
    private async Task CommitInSlotAsync(List<PendingSend> batch)
    {
        try
        {
            await CommitOrFail(batch, async: true);
        }
        finally
        {
            _slots.Release();
        }
    }

    /// <summary>
    /// Commits <paramref name="batch"/>, or fails its sends; never throws. <paramref name="async"/>
    /// false: PostgreSQL is waited for synchronously (only disposal after a failure may still await).
    /// </summary>
    private async Task CommitOrFail(List<PendingSend> batch, bool async)
    {
        try
        {
            await CommitAsync(batch, async);
        }
        catch (Exception ex)
        {
            LogCommitFailed(logger, batch.Count, ex);
            foreach (var pending in batch)
            {
                pending.Completion.TrySetException(ex);
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
    private async Task CommitAsync(List<PendingSend> batch, bool async)
    {
        var failure = await TryCommitAsync(batch, async);
        if (failure is null)
        {
            return;
        }
        if (batch.Count > 1 && !DatabaseErrors.IsUnavailable(failure))
        {
            LogIsolatingFailure(logger, batch.Count, failure.Message);
            var half = batch.Count / 2;
            await CommitAsync(batch[..half], async);
            await CommitAsync(batch[half..], async);
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
    private async Task<Exception?> TryCommitAsync(List<PendingSend> batch, bool async)
    {
        var createdAt = TruncateToMilliseconds(time.GetUtcNow().UtcDateTime);
        var (accepted, keyTaken) = SplitInBatchDuplicateKeys(batch);
        // Ids go to sends first, then broadcasts: SendBatchTransaction allocates them in that order.
        accepted = accepted.OrderBy(p => p.Send.Broadcast).ToList();
        long firstId = 0;
        var rowCount = 0;
        var committing = false;
        var started = time.GetTimestamp();
        using var span = RealtimeTracing.StartCommitBatch(batch.Select(p => p.Span).ToList());
        BatchWrites writes;
        try
        {
            writes = await SendBatchTransaction.CommitAsync(dataSource, accepted, keyTaken, createdAt,
                allocated: (first, count) => (firstId, rowCount) = (first, count), committing: () => committing = true, async);
        }
        catch (Exception ex)
        {
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, ex.Message);
            if (firstId > 0 && !committing)
            {
                // Failed before COMMIT was sent, so certainly rolled back: its ids will never hold anything.
                // Say so at once, so no sequencer waits for them. (A failed COMMIT may have committed: sequencers read that range.)
                await PublishAsync(new NotificationBatch(firstId, firstId + rowCount - 1, []), async);
            }
            return ex;
        }
        metrics.Committed(rowCount, time.GetElapsedTime(started));

        var replacements = Replacements(writes, firstId);
        var items = new List<SequencedNotification>();
        var serializer = new BatchSerializer(createdAt);
        var nextId = firstId;
        foreach (var pending in accepted)
        {
            var sent = new List<SentNotification>(pending.Send.RowCount);
            if (pending.Send.Broadcast)
            {
                items.Add(serializer.Serialize(nextId, userId: null, pending.Send) with { Trace = pending.Trace });
                sent.Add(new SentNotification(nextId++, UserId: ""));
            }
            foreach (var userId in pending.Send.UserIds)
            {
                if (!replacements.ReplacedInBatch.Contains(nextId))
                {
                    items.Add(serializer.Serialize(nextId, userId, pending.Send) with
                    {
                        Replaced = replacements.Deleted.GetValueOrDefault(nextId),
                        Trace = pending.Trace,
                        UnreadCount = writes.UnreadCounts.TryGetValue(userId, out var unread) ? unread : null,
                    });
                }
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
            await PublishAsync(new NotificationBatch(firstId, nextId - 1, items), async);
        }
        return null;
    }

    /// <summary>
    /// What the collapse keys of a committed batch replaced: the ids of this batch that a later one
    /// of the same batch replaced (never published: nobody saw them), and for each new notification
    /// the <c>notificationDeleted</c> payload of the older ones it replaced, with the recipient's
    /// unread count as the commit left it.
    /// </summary>
    private static (HashSet<long> ReplacedInBatch, Dictionary<long, RawJson> Deleted) Replacements(BatchWrites writes, long firstId)
    {
        var inBatch = writes.Replaced.Where(r => r.Id >= firstId).Select(r => r.Id).ToHashSet();
        var deleted = new Dictionary<long, RawJson>();
        foreach (var group in writes.Replaced.Where(r => r.Id < firstId).GroupBy(r => r.ReplacedBy))
        {
            var userId = group.First().UserId;
            var message = new NotificationDeletedMessage(group.Select(r => r.Id).Order().ToList(), writes.UnreadCounts.GetValueOrDefault(userId));
            deleted[group.Key] = new RawJson(JsonSerializer.SerializeToUtf8Bytes(message, RealtimeJsonContext.Default.NotificationDeletedMessage));
        }
        return (inBatch, deleted);
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

    /// <summary>
    /// Hands a committed batch to the bus (this node's sequencer, at once; other nodes through Redis).
    /// <paramref name="async"/> false (the commit thread): a publish still on its way is not waited for,
    /// only its failure logged; the next batch's publish goes out behind it on the same connection.
    /// </summary>
    private async Task PublishAsync(NotificationBatch batch, bool async)
    {
        Task publishing;
        try
        {
            publishing = bus.PublishAsync(batch, CancellationToken.None);
        }
        catch (Exception ex)
        {
            LogPublishFailed(logger, batch.FirstId, batch.LastId, ex);
            return;
        }
        if (!async && !publishing.IsCompleted)
        {
            _ = publishing.ContinueWith(static (task, state) =>
            {
                var (log, published) = ((ILogger, NotificationBatch))state!;
                LogPublishFailed(log, published.FirstId, published.LastId, task.Exception!.GetBaseException());
            }, ((ILogger)logger, batch), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return;
        }
        try
        {
            await publishing;
        }
        catch (Exception ex)
        {
            // Committed is committed: the sequencers of other nodes read a lost range from PostgreSQL.
            LogPublishFailed(logger, batch.FirstId, batch.LastId, ex);
        }
    }

    /// <summary>
    /// Serialized once for every connection; a broadcast has no user, so one message serves all.
    /// Each distinct content of the batch is serialized once (<see cref="NotificationJson"/>): a
    /// recipient costs only its id and userId.
    /// </summary>
    private sealed class BatchSerializer(DateTime createdAt)
    {
        private readonly Dictionary<(NotificationContent Content, DateTime? ExpiresAt, string? CollapseKey, bool Broadcast), NotificationJson> _contents = [];

        /// <summary>The last send's content, when all its recipients share one (no per-user template text): not even looked up again.</summary>
        private (ValidatedSend Send, NotificationJson Json)? _last;

        public SequencedNotification Serialize(long id, string? userId, ValidatedSend send)
        {
            var expiresAt = send.ExpiresAt(createdAt);
            if (_last is { } last && ReferenceEquals(last.Send, send))
            {
                return new SequencedNotification(id, userId, createdAt, expiresAt, last.Json.For(id, userId));
            }
            var content = send.ContentFor(userId);
            var key = (content, expiresAt, send.CollapseKey, send.Broadcast);
            if (!_contents.TryGetValue(key, out var json))
            {
                json = NotificationJson.Of(new Notification(0, null, content.Category, content.Title, content.Body,
                    content.DataJson is null ? null : RawJson.FromText(content.DataJson), content.Link, content.Priority,
                    send.Broadcast, createdAt, expiresAt, ReadAt: null, send.CollapseKey));
                _contents.Add(key, json);
            }
            _last = send.TextByUser is null ? (send, json) : null;
            return new SequencedNotification(id, userId, createdAt, expiresAt, json.For(id, userId));
        }
    }

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
}

/// <summary>A send waiting in the queue, completed once its transaction commits (or fails).</summary>
internal sealed class PendingSend(ValidatedSend send, string sender, byte[]? requestHash)
{
    public ValidatedSend Send { get; } = send;
    public string Sender { get; } = sender;
    public byte[]? RequestHash { get; } = requestHash;
    public TaskCompletionSource<AppendOutcome> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>This send's commit span (null when not traced); the batch's span links to it.</summary>
    public System.Diagnostics.Activity? Span { get; init; }

    /// <summary>The request's span context, carried with its notifications to every node's delivery.</summary>
    public System.Diagnostics.ActivityContext Trace { get; init; }
}

/// <summary>What became of an append: the notifications created, or "this sender already used this key".</summary>
internal sealed record AppendOutcome(IReadOnlyList<SentNotification>? Notifications)
{
    public static readonly AppendOutcome KeyAlreadyUsed = new((IReadOnlyList<SentNotification>?)null);

    public static AppendOutcome Created(IReadOnlyList<SentNotification> notifications) => new(notifications);
}
