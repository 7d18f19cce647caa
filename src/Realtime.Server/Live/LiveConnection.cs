using System.Text.Json;
using Microsoft.Extensions.Options;
using Realtime.Server.Bus;
using Realtime.Server.Contracts;
using Realtime.Server.Notifications;
using Realtime.Server.Observability;

namespace Realtime.Server.Live;

/// <summary>
/// One client connection on this node, whatever its transport. Everything it is sent goes through
/// one bounded queue, written by at most one drain at a time, which is what gives each connection
/// its guarantee: a resume holds live messages back (they wait in the queue behind it) while it
/// replays from PostgreSQL, and no notification id is sent twice. A client that stops reading
/// fills its queue and is closed; it resumes when it reconnects, so nothing is lost and nobody
/// else waits.
/// </summary>
/// <remarks>
/// No task runs while a connection is idle: whoever queues into an idle connection starts its
/// drain on its own thread, which writes until a write has to wait (the client reads slowly) and
/// then continues asynchronously, queueing anything new behind it. A broadcast is thus written to
/// most connections by the dispatching thread itself, as SignalR's own <c>Clients.All</c> does,
/// and an idle connection holds only its small state, not a waiting loop.
/// </remarks>
internal abstract partial class LiveConnection
{
    private readonly Queue<Outgoing> _queue = new();
    // The node's services in one reference, not a field each: an idle connection's size is memory per connection.
    private readonly LiveServices _services;
    // Made when RunAsync's caller awaits the end (SSE); a hub connection ends through OnDisconnectedAsync and never asks.
    private TaskCompletionSource? _ended;
    private bool _finished;

    // Guarded by _queue: what is queued, whether delivery has started (the transport is ready) and a
    // drain runs, whether live messages are held back
    // for the first Resume (which then goes first), and whether the connection has ended.
    private long _queuedBytes;
    private int _queuedMessages;
    private bool _started;
    private bool _draining;
    private bool _holding = true;
    private ResumeRequest? _firstResume;
    private bool _ending;
    private ITimer? _graceTimer;
    private CancellationToken _cancellation;
    private CancellationTokenRegistration _cancellationRegistration;

    // Every notification the user can see with an id in (_sentAbove, _lastSent] has been sent here
    // (or was covered by the client's own cursor). Only the drain touches these.
    private long _sentAbove = -1;
    private long _lastSent;

    protected LiveConnection(string id, string userId, string transport, LiveServices services)
    {
        Id = id;
        UserId = userId;
        Transport = transport;
        _services = services;
    }

    public string Id { get; }

    public string UserId { get; }

    public string Transport { get; }

    /// <summary>The client's User-Agent header, when it sent one.</summary>
    public string? UserAgent { get; init; }

    /// <summary>The client's address as this node saw it: the connection's own object, formatted only when read.</summary>
    public System.Net.IPAddress? RemoteAddress { get; init; }

    /// <summary>The client's address as this node saw it, as text.</summary>
    public string? RemoteIp => RemoteAddress?.ToString();

    public DateTimeOffset ConnectedAt { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>The highest notification id sent on this connection (or covered by its resume cursor or live start).</summary>
    public long LastSentId => Volatile.Read(ref _lastSent);

    /// <summary>Messages waiting to be written.</summary>
    public int QueuedCount
    {
        get
        {
            lock (_queue)
            {
                return _queuedMessages;
            }
        }
    }

    /// <summary>Payload bytes waiting to be written; never above <see cref="LiveOptions.ConnectionQueueBytes"/>.</summary>
    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    /// <summary>The dispatch lane that writes to it; set by <see cref="ConnectionRegistry.Add"/>.</summary>
    public int Lane { get; set; }

    /// <summary>True once the connection was closed for falling behind.</summary>
    public bool FellBehind { get; private set; }

    /// <summary>Its slot on a <see cref="KeepAliveWheel"/> (-1: on none); only the wheel sets it, under that slot's lock.</summary>
    public int KeepAliveSlot { get; set; } = -1;

    /// <summary>Its place in that slot; only the wheel sets it, under that slot's lock.</summary>
    public int KeepAliveIndex { get; set; }

    public void EnqueueNotification(NotificationFrames notification) => Offer(new LiveNotification(notification));

    public void EnqueueEvent(EventFrames userEvent) => Offer(new LiveEvent(userEvent));

    /// <summary>
    /// Queues a per-user event that waits for the next write to this connection and goes out with it
    /// (one socket send for both) instead of being written at once; <see cref="FlushDeferred"/> writes
    /// it if nothing came meanwhile. Order is kept: it goes after what was queued before it.
    /// </summary>
    public void EnqueueDeferredEvent(EventFrames userEvent) => Offer(new LiveEvent(userEvent), deferred: true);

    /// <summary>Writes what <see cref="EnqueueDeferredEvent"/> left waiting, unless a write took it already.</summary>
    public void FlushDeferred()
    {
        bool start;
        lock (_queue)
        {
            start = TryClaimDrain();
        }
        if (start)
        {
            _ = DrainAsync();
        }
    }

    /// <summary>
    /// Queues a keep-alive (a SignalR ping, an SSE comment), unless something is being written or
    /// waits to be: the client then hears from the server anyway, and a write that waits on a client
    /// who stopped reading gains nothing from a ping behind it.
    /// </summary>
    public void EnqueueKeepAlive()
    {
        lock (_queue)
        {
            if (_draining || _queue.Count > 0)
            {
                return;
            }
        }
        Offer(KeepAlive.Instance);
    }

    /// <summary>
    /// The client gave no cursor: live from now, with no wait for a first Resume. Nothing up to
    /// <paramref name="lastCommittedId"/> (every id committed when the client was subscribed) is
    /// sent, however late the sequencer hands it over; null when that is not known.
    /// </summary>
    public void StartLiveFromNow(long? lastCommittedId)
    {
        if (lastCommittedId is { } settled)
        {
            lock (_queue)
            {
                if (_holding && !_started)
                {
                    // No drain has run yet: as if the client's cursor were there, with nothing to replay.
                    _sentAbove = settled;
                    Volatile.Write(ref _lastSent, settled);
                }
            }
        }
        StopHolding(firstResume: null);
    }

    /// <summary>
    /// Replays every notification above <paramref name="afterId"/> that this connection has not been
    /// sent, in id order, holding live messages back meanwhile. Returns how many were replayed.
    /// </summary>
    public async Task<int> ResumeAsync(long afterId, CancellationToken cancellationToken)
    {
        var resume = new ResumeRequest(afterId);
        if (!StopHolding(resume))
        {
            Offer(resume);
        }
        return await resume.Completion.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Starts delivery, as <see cref="Start"/>; the task completes when the connection has ended
    /// (<paramref name="cancellationToken"/> cancelled, <see cref="Complete"/>, a failed write or
    /// falling behind) and nothing is being written to it any more.
    /// </summary>
    public Task RunAsync(CancellationToken cancellationToken)
    {
        Start(cancellationToken);
        _cancellationRegistration = cancellationToken.UnsafeRegister(static state => ((LiveConnection)state!).Complete(), this);
        lock (_queue)
        {
            return _finished ? Task.CompletedTask : (_ended ??= new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
    }

    /// <summary>
    /// Starts delivery: live messages wait for the client's first Resume (its replay goes first)
    /// or until the grace period ends. Writes stop when <paramref name="cancellationToken"/> is
    /// cancelled; the connection ends on <see cref="Complete"/> (the hub calls it when SignalR
    /// ends the connection, so no registration on the token is kept per connection), a failed
    /// write or falling behind.
    /// </summary>
    public void Start(CancellationToken cancellationToken)
    {
        bool start;
        lock (_queue)
        {
            _cancellation = cancellationToken;
            _started = true;
            if (_holding && !_ending)
            {
                _graceTimer = _services.Time.CreateTimer(static state => ((LiveConnection)state!).StopHolding(firstResume: null), this, _services.Options.ResumeGracePeriod, Timeout.InfiniteTimeSpan);
            }
            start = TryClaimDrain();
        }
        if (start)
        {
            _ = DrainAsync();
        }
    }

    /// <summary>Ends the connection: nothing more is written; a Resume waiting in the queue is cancelled.</summary>
    public void Complete()
    {
        List<Outgoing> dropped;
        bool idle;
        lock (_queue)
        {
            if (_ending && _queue.Count == 0 && _firstResume is null)
            {
                idle = !_draining;
                dropped = [];
            }
            else
            {
                _ending = true;
                dropped = [.. _queue];
                if (_firstResume is not null)
                {
                    dropped.Add(_firstResume);
                    _firstResume = null;
                }
                _queue.Clear();
                _queuedBytes = 0;
                _queuedMessages = 0;
                idle = !_draining;
            }
            _graceTimer?.Dispose();
            _graceTimer = null;
        }
        foreach (var item in dropped)
        {
            (item as ResumeRequest)?.Completion.TrySetCanceled();
        }
        if (idle)
        {
            Finish();
        }
    }

    /// <summary>Writes one message to the client; <paramref name="id"/> is set for notifications.</summary>
    protected abstract ValueTask WriteAsync(string target, RawJson payload, long? id, CancellationToken cancellationToken);

    /// <summary>Writes live notifications (one, or a run), as the frames shared by every connection of this transport.</summary>
    protected virtual async ValueTask WriteNotificationAsync(NotificationFrames frames, CancellationToken cancellationToken)
    {
        for (var i = 0; i < frames.Count; i++)
        {
            var notification = frames[i].Notification;
            await WriteAsync(ClientTargets.Notification, notification.Json, notification.Id, cancellationToken);
        }
    }

    /// <summary>Writes a per-user event, as the frames shared by every connection that gets it.</summary>
    protected virtual ValueTask WriteEventAsync(EventFrames userEvent, CancellationToken cancellationToken) =>
        WriteAsync(userEvent.Target, userEvent.Payload, null, cancellationToken);

    /// <summary>Writes a keep-alive in the transport's own form.</summary>
    protected abstract ValueTask WriteKeepAliveAsync(CancellationToken cancellationToken);

    /// <summary>Ends the connection from the server side.</summary>
    public abstract void Close();

    private void Offer(Outgoing item, bool deferred = false)
    {
        bool start;
        lock (_queue)
        {
            if (_ending)
            {
                (item as ResumeRequest)?.Completion.TrySetCanceled(); // already ending: nothing more to do
                return;
            }
            if (_queuedMessages + item.Messages > _services.Options.ConnectionQueueCapacity || _queuedBytes + item.Size > _services.Options.ConnectionQueueBytes)
            {
                FellBehind = true;
                _ending = true;
                LogFellBehind(_services.Logger, Id, UserId, _queuedMessages, _queuedBytes);
                start = false;
            }
            else
            {
                _queue.Enqueue(item);
                _queuedBytes += item.Size;
                _queuedMessages += item.Messages;
                start = !deferred && TryClaimDrain();
                if (!start)
                {
                    return;
                }
            }
        }
        if (start)
        {
            _ = DrainAsync();
            return;
        }
        (item as ResumeRequest)?.Completion.TrySetException(new InvalidOperationException("The connection fell behind and is being closed."));
        Close();
        Complete();
    }

    /// <summary>
    /// Lets live messages go (the first Resume, when given, goes before them). False when they
    /// were let go already (a later Resume then queues like any message).
    /// </summary>
    private bool StopHolding(ResumeRequest? firstResume)
    {
        bool start;
        lock (_queue)
        {
            if (!_holding || _ending)
            {
                return false;
            }
            _holding = false;
            _firstResume = firstResume;
            _graceTimer?.Dispose();
            _graceTimer = null;
            start = TryClaimDrain();
        }
        if (start)
        {
            _ = DrainAsync();
        }
        return true;
    }

    /// <summary>Under the lock: true when the caller is to start a drain (there is something to write and nothing stops it).</summary>
    private bool TryClaimDrain()
    {
        if (!_started || _draining || _holding || _ending || (_firstResume is null && _queue.Count == 0))
        {
            return false;
        }
        _draining = true;
        return true;
    }

    /// <summary>Writes what is queued, one at a time, until the queue is empty; only one runs per connection.</summary>
    private async Task DrainAsync()
    {
        try
        {
            while (true)
            {
                Outgoing? item;
                lock (_queue)
                {
                    if (_ending)
                    {
                        _draining = false;
                        break;
                    }
                    if (_firstResume is { } first)
                    {
                        item = first;
                        _firstResume = null;
                    }
                    else if (_queue.TryDequeue(out item))
                    {
                        _queuedBytes -= item.Size;
                        _queuedMessages -= item.Messages;
                    }
                    else
                    {
                        _draining = false;
                        return;
                    }
                }
                switch (item)
                {
                    case LiveNotification { Frames: var frames }:
                        await WriteLiveAsync(frames, _cancellation);
                        break;
                    case LiveEvent { Frames: var userEvent }:
                        await WriteEventAsync(userEvent, _cancellation);
                        break;
                    case ResumeRequest resume:
                        await ResumeNowAsync(resume, _cancellation);
                        break;
                    case KeepAlive:
                        await WriteKeepAliveAsync(_cancellation);
                        break;
                }
            }
        }
        catch (Exception ex)
        {
            if (!_cancellation.IsCancellationRequested)
            {
                LogWriteFailed(_services.Logger, Id, ex);
                Close();
            }
            lock (_queue)
            {
                _draining = false;
            }
            Complete();
            return;
        }
        Finish(); // ended while draining: the drain was the last writer
    }

    /// <summary>The connection has ended and nothing writes to it any more.</summary>
    private void Finish()
    {
        _cancellationRegistration.Dispose();
        TaskCompletionSource? ended;
        lock (_queue)
        {
            _finished = true;
            ended = _ended;
        }
        ended?.TrySetResult();
    }

    /// <summary>
    /// Writes what the client has not been sent and has not expired: a run in one write when all of
    /// it is new (the usual case), else its new notifications one by one.
    /// </summary>
    private async ValueTask WriteLiveAsync(NotificationFrames frames, CancellationToken cancellationToken)
    {
        var now = _services.Time.GetUtcNow().UtcDateTime;
        if (frames[0].Notification.Id > _lastSent && AllUnexpired(frames, now))
        {
            await WriteNotificationAsync(frames, cancellationToken);
            Sent(frames, now);
            return;
        }
        for (var i = 0; i < frames.Count; i++)
        {
            var part = frames[i];
            if (part.Notification.Id > _lastSent && part.Notification.ExpiresAt > now)
            {
                await WriteNotificationAsync(part, cancellationToken);
                Sent(part, now);
            }
        }
    }

    private static bool AllUnexpired(NotificationFrames frames, DateTime now)
    {
        for (var i = 0; i < frames.Count; i++)
        {
            if (frames[i].Notification.ExpiresAt <= now)
            {
                return false;
            }
        }
        return true;
    }

    private void Sent(NotificationFrames frames, DateTime now)
    {
        _services.Metrics.DeliveredLive(Transport, frames.Count);
        for (var i = 0; i < frames.Count; i++)
        {
            _services.Metrics.DeliveryLatency(frames[i].Notification.CreatedAt, now);
        }
        if (_sentAbove < 0)
        {
            _sentAbove = frames[0].Notification.Id - 1;
        }
        Volatile.Write(ref _lastSent, frames.Notification.Id);
    }

    private async Task ResumeNowAsync(ResumeRequest resume, CancellationToken cancellationToken)
    {
        try
        {
            var (replayed, unread) = await ReplayAsync(resume.AfterId, cancellationToken);
            _services.Metrics.Resumed(Transport, replayed);
            await WriteAsync(ClientTargets.UnreadCount, ClientPayloads.UnreadCount(unread), null, cancellationToken);
            resume.Completion.TrySetResult(replayed);
        }
        catch (Exception ex)
        {
            resume.Completion.TrySetException(ex);
            throw;
        }
    }

    /// <summary>
    /// Replays from PostgreSQL; how many were sent, and the unread count read after them. The first
    /// page and the count come from <see cref="ResumeReader"/> (coalesced with other resumes); a
    /// longer replay reads its further pages, and then the count again, on its own.
    /// </summary>
    private async Task<(int Replayed, int Unread)> ReplayAsync(long afterId, CancellationToken cancellationToken)
    {
        var cursor = afterId;
        var replayed = 0;
        var highest = Math.Max(_lastSent, afterId);
        var (page, unread) = await _services.Resumes.ReadAsync(UserId, cursor, _services.Options.ReplayPageSize, cancellationToken);
        var pages = 1;
        while (true)
        {
            foreach (var notification in page)
            {
                cursor = notification.Id;
                if (notification.Id > _sentAbove && notification.Id <= _lastSent)
                {
                    continue; // already sent live on this connection
                }
                var json = new RawJson(JsonSerializer.SerializeToUtf8Bytes(notification, RealtimeJsonContext.Default.Notification));
                await WriteAsync(ClientTargets.Notification, json, notification.Id, cancellationToken);
                _services.Metrics.Replayed(Transport);
                highest = Math.Max(highest, notification.Id);
                replayed++;
            }
            if (page.Count < _services.Options.ReplayPageSize)
            {
                break;
            }
            page = await _services.Inbox.ReadAfterAsync(UserId, cursor, _services.Options.ReplayPageSize, cancellationToken);
            pages++;
        }
        _sentAbove = _sentAbove < 0 ? afterId : Math.Min(_sentAbove, afterId);
        Volatile.Write(ref _lastSent, highest);
        if (pages > 1)
        {
            unread = await _services.Inbox.UnreadCountAsync(UserId, cancellationToken);
        }
        return (replayed, unread);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId} of {UserId} fell behind ({Messages} messages, {Bytes} bytes queued); closing it (it resumes on reconnect)")]
    private static partial void LogFellBehind(ILogger logger, string connectionId, string userId, int messages, long bytes);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Writing to connection {ConnectionId} failed; closing it")]
    private static partial void LogWriteFailed(ILogger logger, string connectionId, Exception exception);

    private abstract record Outgoing
    {
        /// <summary>Payload bytes this item holds, for the queue's byte bound.</summary>
        public virtual long Size => 0;

        /// <summary>Messages this item holds, for the queue's bound (a run of notifications is several).</summary>
        public virtual int Messages => 1;
    }

    private sealed record LiveNotification(NotificationFrames Frames) : Outgoing
    {
        public override long Size => Frames.Size;

        public override int Messages => Frames.Count;
    }

    private sealed record LiveEvent(EventFrames Frames) : Outgoing
    {
        public override long Size => Frames.Payload.Utf8.Length;
    }

    private sealed record KeepAlive : Outgoing
    {
        public static readonly KeepAlive Instance = new();
    }

    private sealed record ResumeRequest(long AfterId) : Outgoing
    {
        public TaskCompletionSource<int> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>What every live connection needs from the node, in one bundle.</summary>
internal sealed class LiveServices(InboxStore inbox, ResumeReader resumes, TimeProvider time, IOptions<LiveOptions> options, ILogger<LiveConnection> logger, RealtimeMetrics metrics)
{
    public ResumeReader Resumes { get; } = resumes;
    public RealtimeMetrics Metrics { get; } = metrics;
    public InboxStore Inbox { get; } = inbox;
    public TimeProvider Time { get; } = time;
    public LiveOptions Options { get; } = options.Value;
    public ILogger Logger { get; } = logger;
}
