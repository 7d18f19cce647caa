using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Realtime.Server.Bus;
using Realtime.Server.Contracts;
using Realtime.Server.Operations;
using Realtime.Server.Storage;

namespace Realtime.Server.Push;

/// <summary>
/// Sends the outbox's due jobs. Every node runs one: it claims as many due jobs as it has free
/// slots (<c>FOR UPDATE SKIP LOCKED</c>, so nodes never claim the same job), sends each with at
/// most <see cref="PushOptions.MaxConcurrency"/> in flight and at most
/// <see cref="PushOptions.MaxConcurrencyPerHost"/> per push-service host, and records each answer
/// in its own short transaction right after it arrives. A node that dies mid-send leaves its
/// claims to expire; only a request the push service never answered (or whose answer the dead node
/// could not record) is sent again.
/// </summary>
internal sealed class PushWorker : BackgroundService
{
    /// <summary>Finished jobs are kept this long (the delivery trace), then purged.</summary>
    public static readonly TimeSpan FinishedRetention = TimeSpan.FromDays(7);

    private static readonly TimeSpan PurgeInterval = TimeSpan.FromMinutes(10);
    private const int PurgeBatch = 10_000;

    /// <summary>At most this many jobs per claim: a short statement even with many free slots.</summary>
    private const int MaxClaim = 200;

    private static readonly TimeSpan RecordRetryDelay = TimeSpan.FromMilliseconds(200);

    /// <summary>Outcomes recorded per statement: answers that arrive together share one short transaction.</summary>
    private const int MaxRecordBatch = 500;

    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Channel<PendingResult> _results = Channel.CreateUnbounded<PendingResult>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _hosts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Task, bool> _running = new();
    private readonly SemaphoreSlim _slots;
    private int _idleRounds; // claims in a row that found nothing due (the loop's own)
    private readonly PushOutboxStore _store;
    private readonly PushSchedule _schedule;
    private readonly PushSender _sender;
    private readonly EndpointGuard _guard;
    private readonly NodeIdentity _node;
    private readonly StartupGate _gate;
    private readonly TimeProvider _time;
    private readonly PushOptions _options;
    private readonly ILogger<PushWorker> _logger;
    private readonly Observability.RealtimeMetrics? _metrics;

    public PushWorker(PushOutboxStore store, PushSchedule schedule, PushSender sender, EndpointGuard guard, NodeIdentity node, StartupGate gate, TimeProvider time,
        IOptions<PushOptions> options, ILogger<PushWorker> logger, Observability.RealtimeMetrics? metrics = null)
    {
        _metrics = metrics;
        _store = store;
        _schedule = schedule;
        _sender = sender;
        _guard = guard;
        _node = node;
        _gate = gate;
        _time = time;
        _options = options.Value;
        _logger = logger;
        _slots = new SemaphoreSlim(_options.MaxConcurrency, _options.MaxConcurrency);
    }

    /// <summary>New jobs may be due (the planner wrote some, or a slot came free).</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var recorder = Task.Run(RecordLoopAsync, CancellationToken.None);
        try
        {
            await _gate.WhenOpen.WaitAsync(stoppingToken);
            var lastPurge = _time.GetTimestamp();
            while (!stoppingToken.IsCancellationRequested)
            {
                var claimedAll = await ClaimAndStartAsync(stoppingToken);
                if (_time.GetElapsedTime(lastPurge) >= PurgeInterval)
                {
                    lastPurge = _time.GetTimestamp();
                    await PurgeAsync(stoppingToken);
                }
                if (!claimedAll)
                {
                    await WaitAsync(_options.IdlePoll(_idleRounds), stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // In-flight sends see the cancellation and hand their jobs back; answers already in are recorded.
            await Task.WhenAll(_running.Keys).WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ContinueWith(_ => { }, TaskScheduler.Default);
            _results.Writer.TryComplete();
            await recorder.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>Claims up to the free slots and starts sending; true when it got all it asked for (more may be due).</summary>
    private async Task<bool> ClaimAndStartAsync(CancellationToken stoppingToken)
    {
        var free = Math.Min(_slots.CurrentCount, MaxClaim);
        if (free == 0)
        {
            return false;
        }
        IReadOnlyList<ClaimedJob> jobs;
        PushDecision[] decisions;
        try
        {
            var now = Now();
            jobs = await _store.ClaimAsync(_node.Id, now, now + _options.Lease, free, stoppingToken);
            // The user's preferences as they are now (they may have changed since planning); if they
            // cannot be read, the claims' leases end and the jobs come back.
            decisions = await _schedule.DecideAsync(jobs.Select(j => (j.UserId, j.Notification?.Category ?? "", j.Notification?.Priority ?? NotificationPriority.Normal)).ToList(), now, stoppingToken);
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            PushLog.ClaimFailed(_logger, ex);
            return false;
        }
        for (var i = 0; i < jobs.Count; i++)
        {
            var (job, decision) = (jobs[i], decisions[i]);
            await _slots.WaitAsync(stoppingToken);
            var task = Task.Run(() => ProcessAsync(job, decision, stoppingToken), CancellationToken.None);
            _running[task] = true;
            _ = task.ContinueWith(t => _running.TryRemove(t, out _), TaskScheduler.Default);
        }
        _idleRounds = jobs.Count == 0 ? _idleRounds + 1 : 0;
        return jobs.Count == free;
    }

    private async Task ProcessAsync(ClaimedJob job, PushDecision decision, CancellationToken stoppingToken)
    {
        try
        {
            PushOutcome? outcome;
            try
            {
                outcome = await AttemptAsync(job, decision, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                outcome = null; // shutting down: hand it back
            }
            catch (Exception ex)
            {
                // A job that breaks the worker (bad stored data, a bug) is recorded as failed, not
                // handed back: it would be claimed and break again, forever.
                PushLog.JobCrashed(_logger, job.Id, ex);
                outcome = new PushOutcome(PushJobState.Failed, null, $"internal error: {ex.GetType().Name}", Attempted: false);
            }

            if (outcome is null)
            {
                await ReleaseQuietlyAsync(job);
                return;
            }
            if (outcome.Attempted || outcome.State != PushJobState.Queued)
            {
                _metrics?.PushFinished(outcome.State); // a push held for quiet hours is not an outcome yet
            }
            try
            {
                await RecordAsync(job, outcome);
            }
            catch (Exception ex)
            {
                // PostgreSQL stayed unreachable: the lease ends and the job is tried again (sent twice
                // only if the push service had answered; nothing else can know that it did).
                PushLog.RecordGaveUp(_logger, job.Id, outcome.State, ex);
            }
        }
        finally
        {
            _slots.Release();
            Wake();
        }
    }

    /// <summary>One attempt; null when the job goes back unattempted (no slot for its host in time).</summary>
    private async Task<PushOutcome?> AttemptAsync(ClaimedJob job, PushDecision decision, CancellationToken stoppingToken)
    {
        var now = Now();
        var ttl = (int)Math.Min(Math.Ceiling((job.ExpiresAt - now).TotalSeconds), _options.MaxTtlSeconds);
        if (ttl <= 0)
        {
            return PushOutcome.Expire("the notification expired before its push went out");
        }
        if (job.Notification is not { } notification)
        {
            return PushOutcome.Cancel("the notification was deleted before its push went out");
        }
        if (notification.ReadAt is not null)
        {
            return PushOutcome.Cancel("the notification was read before its push went out");
        }
        if (decision.Never)
        {
            return PushOutcome.Cancel("push is off for this category in the user's preferences");
        }
        if (decision.HoldUntil is { } until)
        {
            return until < job.ExpiresAt ? PushOutcome.Hold(until) : PushOutcome.Expire("the notification expires before the user's quiet hours end");
        }
        if (job.Endpoint is null || job.SubscriptionUserId != job.UserId)
        {
            return PushOutcome.Cancel("the subscription was removed (or moved to another user)");
        }
        if (_guard.CheckEndpoint(job.Endpoint) is { } refused)
        {
            PushLog.EndpointRefused(_logger, job.Id, refused);
            return new PushOutcome(PushJobState.Failed, null, "refused: " + refused, Attempted: false);
        }

        var host = new Uri(job.Endpoint).IdnHost.ToLowerInvariant();
        var hostSlots = _hosts.GetOrAdd(host, _ => new SemaphoreSlim(_options.MaxConcurrencyPerHost, _options.MaxConcurrencyPerHost));
        if (!await hostSlots.WaitAsync(_options.RequestTimeout, stoppingToken))
        {
            return null;
        }
        PushResponse response;
        bool reduced;
        try
        {
            (var payload, reduced) = PushPayload.Build(notification.ToNotification(), job.Reduced);
            response = await _sender.SendAsync(job.Endpoint, job.P256dh!, job.Auth!, payload, ttl, notification.Priority, PushTopic.From(notification.CollapseKey), stoppingToken);
        }
        finally
        {
            hostSlots.Release();
        }
        return Classify(job, response, reduced, Now());
    }

    /// <summary>201/202 sent; 404/410 gone; 413 once more reduced; 429, 5xx, timeouts and network errors later; anything else failed.</summary>
    public static PushOutcome Classify(ClaimedJob job, PushResponse response, bool reduced, DateTime now, double? random = null)
    {
        var attempts = job.Attempts + 1;
        if (response.Delivered)
        {
            return new PushOutcome(PushJobState.Sent, response.Status, null, Attempted: true, Reduced: reduced);
        }
        if (response.Refused)
        {
            return new PushOutcome(PushJobState.Failed, null, "refused: " + response.Error, Attempted: true);
        }
        switch (response.Status)
        {
            case 404 or 410:
                return new PushOutcome(PushJobState.Gone, response.Status, response.Error, Attempted: true);
            case 413 when !reduced:
                return new PushOutcome(PushJobState.Queued, 413, response.Error, Attempted: true, RetryAt: now, Reduced: true);
            case null or 429 or >= 500:
                return PushRetryPolicy.Retry(attempts, response.RetryAfter, now, job.ExpiresAt, response.Status, response.Error ?? "no answer",
                    reduced: job.Reduced, random ?? Random.Shared.NextDouble());
            default:
                return new PushOutcome(PushJobState.Failed, response.Status, response.Error, Attempted: true, Reduced: reduced);
        }
    }

    /// <summary>Queues the outcome for the recorder and waits until it is written (the job's slot stays taken meanwhile).</summary>
    private async Task RecordAsync(ClaimedJob job, PushOutcome outcome)
    {
        var pending = new PendingResult(job, outcome);
        if (!_results.Writer.TryWrite(pending))
        {
            throw new InvalidOperationException("The push worker has stopped.");
        }
        await pending.Recorded.Task;
        PushLog.JobDone(_logger, job.Id, job.NotificationId, outcome.State, outcome.Status, job.Attempts + (outcome.Attempted ? 1 : 0));
        if (outcome.State == PushJobState.Gone)
        {
            PushLog.SubscriptionGone(_logger, job.SubscriptionId, outcome.Status ?? 0);
        }
    }

    /// <summary>
    /// Writes outcomes right after they arrive, as many as are waiting in one statement; retried
    /// while PostgreSQL is unreachable for up to a request timeout (within the lease, so no other
    /// node sends those jobs meanwhile).
    /// </summary>
    private async Task RecordLoopAsync()
    {
        var batch = new List<PendingResult>(MaxRecordBatch);
        while (await _results.Reader.WaitToReadAsync(CancellationToken.None))
        {
            batch.Clear();
            while (batch.Count < MaxRecordBatch && _results.Reader.TryRead(out var next))
            {
                batch.Add(next);
            }
            var started = _time.GetTimestamp();
            while (true)
            {
                try
                {
                    await _store.RecordAsync(batch.Select(p => (p.Job, p.Outcome)).ToList(), Now(), CancellationToken.None);
                    batch.ForEach(p => p.Recorded.TrySetResult());
                    break;
                }
                catch (Exception ex) when (_time.GetElapsedTime(started) < _options.RequestTimeout)
                {
                    PushLog.RecordFailed(_logger, batch[0].Job.Id, batch.Count, ex);
                    await Task.Delay(RecordRetryDelay, CancellationToken.None);
                }
                catch (Exception ex)
                {
                    batch.ForEach(p => p.Recorded.TrySetException(ex));
                    break;
                }
            }
        }
    }

    private async Task ReleaseQuietlyAsync(ClaimedJob job)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _store.ReleaseAsync(job, Now(), timeout.Token);
        }
        catch (Exception)
        {
            // Its lease ends by itself.
        }
    }

    private async Task PurgeAsync(CancellationToken stoppingToken)
    {
        try
        {
            var now = Now();
            var purged = await _store.PurgeAsync(now, now - FinishedRetention, PurgeBatch, stoppingToken);
            PushLog.Purged(_logger, purged);
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            PushLog.ClaimFailed(_logger, ex);
        }
    }

    private async Task WaitAsync(TimeSpan timeout, CancellationToken stoppingToken)
    {
        await _wake.Reader.WaitToReadOrTimeoutAsync(timeout, stoppingToken);
        _wake.Reader.TryRead(out _);
    }

    private DateTime Now()
    {
        var now = _time.GetUtcNow().UtcDateTime;
        return new DateTime(now.Ticks - now.Ticks % 10, DateTimeKind.Utc);
    }

    private sealed class PendingResult(ClaimedJob job, PushOutcome outcome)
    {
        public ClaimedJob Job { get; } = job;
        public PushOutcome Outcome { get; } = outcome;
        public TaskCompletionSource Recorded { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
