using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Realtime.Server.Bus;
using Realtime.Server.Contracts;
using Realtime.Server.Notifications;
using Realtime.Server.Observability;

namespace Realtime.Server.Live;

/// <summary>
/// One client connection on this node, whatever its transport. Everything it is sent goes through
/// one bounded queue and one writer loop, which is what gives each connection its guarantee:
/// a resume holds live messages back (they wait in the queue behind it) while it replays from
/// PostgreSQL, and no notification id is sent twice. A client that stops reading fills its queue
/// and is closed; it resumes when it reconnects, so nothing is lost and nobody else waits.
/// </summary>
internal abstract partial class LiveConnection
{
    private readonly Channel<Outgoing> _queue;
    private readonly InboxStore _inbox;
    private readonly TimeProvider _time;
    private readonly LiveOptions _options;
    private readonly ILogger _logger;
    private readonly RealtimeMetrics _metrics;

    // Every notification the user can see with an id in (_sentAbove, _lastSent] has been sent here
    // (or was covered by the client's own cursor). Only the writer loop touches these.
    private long _queuedBytes;
    private int _ended;
    private long _sentAbove = -1;
    private long _lastSent;

    // The client's first Resume skips the queue (live messages wait behind it until it is done).
    private const int AwaitingFirstResume = 0, FirstResumeArriving = 1, NoFirstResume = 2;
    private readonly TaskCompletionSource<ResumeRequest> _firstResume = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _firstResumeState = AwaitingFirstResume;

    protected LiveConnection(string id, string userId, string transport, LiveServices services)
    {
        Id = id;
        UserId = userId;
        Transport = transport;
        _inbox = services.Inbox;
        _time = services.Time;
        _options = services.Options.Value;
        _logger = services.Logger;
        _metrics = services.Metrics;
        _queue = Channel.CreateBounded<Outgoing>(new BoundedChannelOptions(_options.ConnectionQueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public string Id { get; }

    public string UserId { get; }

    public string Transport { get; }

    /// <summary>The client's User-Agent header, when it sent one.</summary>
    public string? UserAgent { get; init; }

    /// <summary>The client's address as this node saw it.</summary>
    public string? RemoteIp { get; init; }

    public DateTimeOffset ConnectedAt { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>The highest notification id sent on this connection (or covered by its resume cursor).</summary>
    public long LastSentId => Volatile.Read(ref _lastSent);

    /// <summary>Messages waiting to be written.</summary>
    public int QueuedCount => _queue.Reader.Count;

    /// <summary>Payload bytes waiting to be written; never above <see cref="LiveOptions.ConnectionQueueBytes"/>.</summary>
    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    /// <summary>True once the connection was closed for falling behind.</summary>
    public bool FellBehind { get; private set; }

    public void EnqueueNotification(NotificationFrames notification) => Offer(new LiveNotification(notification));

    public void EnqueueEvent(string target, RawJson payload) => Offer(new LiveEvent(target, payload));

    /// <summary>Queues a keep-alive for transports that need their own (SSE comments).</summary>
    public void EnqueueKeepAlive() => Offer(KeepAlive.Instance);

    /// <summary>The client gave no cursor: live from now, with no wait for a first Resume.</summary>
    public void StartLiveFromNow() => Interlocked.CompareExchange(ref _firstResumeState, NoFirstResume, AwaitingFirstResume);

    /// <summary>
    /// Replays every notification above <paramref name="afterId"/> that this connection has not been
    /// sent, in id order, holding live messages back meanwhile. Returns how many were replayed.
    /// </summary>
    public async Task<int> ResumeAsync(long afterId, CancellationToken cancellationToken)
    {
        var resume = new ResumeRequest(afterId);
        if (Interlocked.CompareExchange(ref _firstResumeState, FirstResumeArriving, AwaitingFirstResume) == AwaitingFirstResume)
        {
            _firstResume.TrySetResult(resume);
        }
        else
        {
            Offer(resume);
        }
        return await resume.Completion.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Writes queued messages until the connection ends.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (await WaitForFirstResumeAsync(cancellationToken) is { } firstResume)
            {
                await ResumeNowAsync(firstResume, cancellationToken);
            }
            await foreach (var item in _queue.Reader.ReadAllAsync(cancellationToken))
            {
                Interlocked.Add(ref _queuedBytes, -item.Size);
                switch (item)
                {
                    case LiveNotification { Frames: var frames }:
                        await WriteLiveAsync(frames, cancellationToken);
                        break;
                    case LiveEvent liveEvent:
                        await WriteAsync(liveEvent.Target, liveEvent.Payload, null, cancellationToken);
                        break;
                    case ResumeRequest resume:
                        await ResumeNowAsync(resume, cancellationToken);
                        break;
                    case KeepAlive:
                        await WriteKeepAliveAsync(cancellationToken);
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LogWriteFailed(_logger, Id, ex);
            Close();
        }
        finally
        {
            Interlocked.Exchange(ref _ended, 1);
            _queue.Writer.TryComplete();
            Interlocked.CompareExchange(ref _firstResumeState, NoFirstResume, AwaitingFirstResume);
            if (_firstResume.Task.IsCompletedSuccessfully)
            {
                _firstResume.Task.Result.Completion.TrySetCanceled();
            }
            while (_queue.Reader.TryRead(out var left))
            {
                Interlocked.Add(ref _queuedBytes, -left.Size);
                (left as ResumeRequest)?.Completion.TrySetCanceled();
            }
        }
    }

    /// <summary>Stops the writer loop once the connection has ended.</summary>
    public void Complete()
    {
        Interlocked.Exchange(ref _ended, 1);
        _queue.Writer.TryComplete();
    }

    /// <summary>Writes one message to the client; <paramref name="id"/> is set for notifications.</summary>
    protected abstract ValueTask WriteAsync(string target, RawJson payload, long? id, CancellationToken cancellationToken);

    /// <summary>Writes a live notification, as the frames shared by every connection of this transport.</summary>
    protected virtual ValueTask WriteNotificationAsync(NotificationFrames frames, CancellationToken cancellationToken) =>
        WriteAsync(ClientTargets.Notification, frames.Notification.Json, frames.Notification.Id, cancellationToken);

    /// <summary>Writes a keep-alive; transports with their own (SignalR pings) write nothing.</summary>
    protected virtual ValueTask WriteKeepAliveAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>Ends the connection from the server side.</summary>
    public abstract void Close();

    private void Offer(Outgoing item)
    {
        if (TryReserve(item.Size))
        {
            if (_queue.Writer.TryWrite(item))
            {
                return;
            }
            Interlocked.Add(ref _queuedBytes, -item.Size);
        }
        if (Interlocked.Exchange(ref _ended, 1) == 1)
        {
            (item as ResumeRequest)?.Completion.TrySetCanceled(); // already ending: nothing more to do
            return;
        }
        FellBehind = true;
        LogFellBehind(_logger, Id, UserId, _queue.Reader.Count, QueuedBytes);
        (item as ResumeRequest)?.Completion.TrySetException(new InvalidOperationException("The connection fell behind and is being closed."));
        _queue.Writer.TryComplete();
        Close();
    }

    /// <summary>Counts <paramref name="size"/> bytes against the byte bound, unless that would pass it.</summary>
    private bool TryReserve(long size)
    {
        var queued = Interlocked.Read(ref _queuedBytes);
        while (true)
        {
            if (queued + size > _options.ConnectionQueueBytes)
            {
                return false;
            }
            var seen = Interlocked.CompareExchange(ref _queuedBytes, queued + size, queued);
            if (seen == queued)
            {
                return true;
            }
            queued = seen;
        }
    }

    /// <summary>
    /// Live messages wait in the queue until the client's first Resume arrives (its replay goes
    /// first) or the grace period ends. Null when the grace period ended without a Resume.
    /// </summary>
    private async Task<ResumeRequest?> WaitForFirstResumeAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _firstResumeState) == NoFirstResume)
        {
            return null;
        }
        try
        {
            return await _firstResume.Task.WaitAsync(_options.ResumeGracePeriod, _time, cancellationToken);
        }
        catch (TimeoutException)
        {
            if (Interlocked.CompareExchange(ref _firstResumeState, NoFirstResume, AwaitingFirstResume) == AwaitingFirstResume)
            {
                return null;
            }
            return await _firstResume.Task.WaitAsync(cancellationToken); // a Resume claimed it just now
        }
    }

    private async ValueTask WriteLiveAsync(NotificationFrames frames, CancellationToken cancellationToken)
    {
        var notification = frames.Notification;
        if (notification.Id <= _lastSent || notification.ExpiresAt <= _time.GetUtcNow().UtcDateTime)
        {
            return;
        }
        await WriteNotificationAsync(frames, cancellationToken);
        _metrics.Delivered(Transport, notification.CreatedAt, _time.GetUtcNow().UtcDateTime, live: true);
        if (_sentAbove < 0)
        {
            _sentAbove = notification.Id - 1;
        }
        Volatile.Write(ref _lastSent, notification.Id);
    }

    private async Task ResumeNowAsync(ResumeRequest resume, CancellationToken cancellationToken)
    {
        try
        {
            var replayed = await ReplayAsync(resume.AfterId, cancellationToken);
            _metrics.Resumed(Transport, replayed);
            var unread = await _inbox.UnreadCountAsync(UserId, cancellationToken);
            await WriteAsync(ClientTargets.UnreadCount, ClientPayloads.UnreadCount(unread), null, cancellationToken);
            resume.Completion.TrySetResult(replayed);
        }
        catch (Exception ex)
        {
            resume.Completion.TrySetException(ex);
            throw;
        }
    }

    private async Task<int> ReplayAsync(long afterId, CancellationToken cancellationToken)
    {
        var cursor = afterId;
        var replayed = 0;
        var highest = Math.Max(_lastSent, afterId);
        while (true)
        {
            var page = await _inbox.ReadAfterAsync(UserId, cursor, _options.ReplayPageSize, cancellationToken);
            foreach (var notification in page)
            {
                cursor = notification.Id;
                if (notification.Id > _sentAbove && notification.Id <= _lastSent)
                {
                    continue; // already sent live on this connection
                }
                var json = new RawJson(JsonSerializer.SerializeToUtf8Bytes(notification, RealtimeJsonContext.Default.Notification));
                await WriteAsync(ClientTargets.Notification, json, notification.Id, cancellationToken);
                _metrics.Delivered(Transport, default, default, live: false);
                highest = Math.Max(highest, notification.Id);
                replayed++;
            }
            if (page.Count < _options.ReplayPageSize)
            {
                break;
            }
        }
        _sentAbove = _sentAbove < 0 ? afterId : Math.Min(_sentAbove, afterId);
        Volatile.Write(ref _lastSent, highest);
        return replayed;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId} of {UserId} fell behind ({Messages} messages, {Bytes} bytes queued); closing it (it resumes on reconnect)")]
    private static partial void LogFellBehind(ILogger logger, string connectionId, string userId, int messages, long bytes);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Writing to connection {ConnectionId} failed; closing it")]
    private static partial void LogWriteFailed(ILogger logger, string connectionId, Exception exception);

    private abstract record Outgoing
    {
        /// <summary>Payload bytes this item holds, for the queue's byte bound.</summary>
        public virtual long Size => 0;
    }

    private sealed record LiveNotification(NotificationFrames Frames) : Outgoing
    {
        public override long Size => Frames.Notification.Json.Utf8.Length;
    }

    private sealed record LiveEvent(string Target, RawJson Payload) : Outgoing
    {
        public override long Size => Payload.Utf8.Length;
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
internal sealed class LiveServices(InboxStore inbox, TimeProvider time, IOptions<LiveOptions> options, ILogger<LiveConnection> logger, RealtimeMetrics metrics)
{
    public RealtimeMetrics Metrics { get; } = metrics;
    public InboxStore Inbox { get; } = inbox;
    public TimeProvider Time { get; } = time;
    public IOptions<LiveOptions> Options { get; } = options;
    public ILogger Logger { get; } = logger;
}
