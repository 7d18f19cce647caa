using System.Diagnostics;
using Microsoft.Extensions.Options;
using Realtime.Server.Bus;
using Realtime.Server.Contracts;
using Realtime.Server.Observability;

namespace Realtime.Server.Live;

/// <summary>
/// Hands sequenced notifications and per-user events to this node's connections. It only enqueues
/// (never waits for a client), so one slow connection cannot hold anyone else up. Each notification
/// is wrapped once (<see cref="NotificationFrames"/>), so every connection that gets it shares the
/// same serialized frames; consecutive broadcasts handed over together go out as one run (one write
/// per connection for all of them). The writing is done by <see cref="LiveOptions.DispatchLanes"/>
/// lanes, each owning a share of the connections (<see cref="DispatchLane"/>): a fan-out to thousands
/// uses every core, and the sequencer is free for the next batch at once. One batch is written at a
/// time: what arrives meanwhile waits and goes out together when the lanes are done, so the further
/// delivery falls behind, the longer the runs and the fewer writes per notification. A small batch
/// of users' own notifications (<see cref="MaxInlineConnections"/>) skips the lanes: the handing
/// thread queues it on the connections itself.
/// </summary>
internal sealed partial class Dispatcher : IDisposable
{
    /// <summary>At most this many notifications, and <see cref="MaxRunBytes"/>, in one run.</summary>
    private const int MaxRunNotifications = 64;
    private const long MaxRunBytes = 64 * 1024;

    /// <summary>
    /// A batch of users' own notifications for at most this many connections is queued on them by the
    /// thread that hands it over (the commit thread, for this node's sends) rather than by the lanes:
    /// queueing on a few connections costs less than waking every lane's thread for it.
    /// </summary>
    internal const int MaxInlineConnections = 32;

    private readonly ConnectionRegistry _registry;
    private readonly UnreadCountRefresher _unreadCounts;
    private readonly TimeProvider _time;
    private readonly IOptions<LiveOptions> _options;
    private readonly DispatchLane[] _lanes;
    private readonly Action<DeliveryBatch> _delivered;
    private readonly ILogger<Dispatcher> _logger;

    // Guarded by itself: notifications handed over while the lanes write a batch (they go next, together).
    private readonly List<SequencedNotification> _waiting = [];
    private bool _writing;

    public Dispatcher(ConnectionRegistry registry, UnreadCountRefresher unreadCounts, TimeProvider time, IOptions<LiveOptions> options, ILogger<Dispatcher> logger)
    {
        _registry = registry;
        _unreadCounts = unreadCounts;
        _time = time;
        _options = options;
        _lanes = [.. Enumerable.Range(0, registry.Lanes).Select(lane => new DispatchLane(lane, registry, logger))];
        _delivered = Delivered;
        _logger = logger;
    }

    /// <summary>Notifications in id order (what the sequencer has ready); the lanes write them, now or after the batch they are writing.</summary>
    public void Deliver(IReadOnlyList<SequencedNotification> notifications)
    {
        lock (_waiting)
        {
            if (_writing)
            {
                _waiting.AddRange(notifications);
                return;
            }
            _writing = true;
        }
        Write(notifications);
    }

    /// <summary>Writes <paramref name="notifications"/>, then whatever waited meanwhile, until a batch is with the lanes or nothing waits.</summary>
    private void Write(IReadOnlyList<SequencedNotification>? notifications)
    {
        while (notifications is not null)
        {
            notifications = WriteBatch(notifications);
        }
    }

    /// <summary>
    /// Hands <paramref name="notifications"/> to the lanes as one batch and returns null; or, when it
    /// was delivered on this thread (small) or nothing was left to write, returns what waited meanwhile
    /// (null when nothing did: the next batch then goes at once).
    /// </summary>
    private List<SequencedNotification>? WriteBatch(IReadOnlyList<SequencedNotification> notifications)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        var live = _options.Value;
        var maxCount = Math.Min(MaxRunNotifications, live.ConnectionQueueCapacity);
        var maxBytes = Math.Min(MaxRunBytes, live.ConnectionQueueBytes);
        var steps = new List<DeliveryStep>();
        var run = new List<NotificationFrames>();
        long runBytes = 0;
        var current = Activity.Current; // the spans end on a lane's thread: this one's current activity stays as it was
        foreach (var notification in notifications)
        {
            if (notification.ExpiresAt <= now)
            {
                continue;
            }
            if (notification.UserId is not null)
            {
                AddRun(steps, run);
                runBytes = 0;
                AddForUser(steps, notification);
                continue;
            }
            var frames = new NotificationFrames(notification);
            if (run.Count > 0 && (run.Count == maxCount || runBytes + frames.Size > maxBytes))
            {
                AddRun(steps, run);
                runBytes = 0;
            }
            run.Add(frames);
            runBytes += frames.Size;
        }
        AddRun(steps, run);
        Activity.Current = current;
        if (steps.Count == 0)
        {
            return TakeWaiting();
        }
        var batch = new DeliveryBatch(steps, _lanes.Length, _delivered);
        if (IsSmall(steps))
        {
            // No batch is being written meanwhile (_writing), so the connections still get everything in id order.
            try
            {
                batch.DeliverInEveryLane(_registry);
            }
            catch (Exception ex)
            {
                LogInlineDeliveryFailed(_logger, ex);
            }
            Complete(batch);
            return TakeWaiting();
        }
        foreach (var lane in _lanes)
        {
            lane.Post(batch);
        }
        return null;
    }

    /// <summary>Only users' own notifications, for at most <see cref="MaxInlineConnections"/> connections in all.</summary>
    private static bool IsSmall(List<DeliveryStep> steps)
    {
        var connections = 0;
        foreach (var step in steps)
        {
            if (step is not UserNotificationStep user || (connections += user.ConnectionCount) > MaxInlineConnections)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>A run of broadcasts: the same frames for every connection.</summary>
    private static void AddRun(List<DeliveryStep> steps, List<NotificationFrames> run)
    {
        if (run.Count == 0)
        {
            return;
        }
        var spans = run.Select(frames => RealtimeTracing.StartDelivery(frames.Notification)).ToArray();
        steps.Add(new BroadcastRunStep([.. run.Select(frames => frames.Notification)], spans));
        run.Clear();
    }

    private void AddForUser(List<DeliveryStep> steps, SequencedNotification notification)
    {
        var span = RealtimeTracing.StartDelivery(notification);
        var connections = _registry.ForUser(notification.UserId!);
        if (connections.IsEmpty)
        {
            span?.SetTag(RealtimeTracing.ConnectionsTag, 0);
            span?.Dispose();
            return;
        }
        // What a collapse key replaced is deleted on the client right before the replacement arrives.
        var replaced = notification.Replaced is { } deleted ? new EventFrames(ClientTargets.NotificationDeleted, deleted) : null;
        var unread = notification.UnreadCount is { } count ? new EventFrames(ClientTargets.UnreadCount, ClientPayloads.UnreadCount(count)) : null;
        steps.Add(new UserNotificationStep(new NotificationFrames(notification), replaced, unread, connections, span, _unreadCounts));
    }

    /// <summary>Every lane has queued the batch on its connections: it is complete, and what waited goes out next.</summary>
    private void Delivered(DeliveryBatch batch)
    {
        Complete(batch);
        Write(TakeWaiting());
    }

    /// <summary>The batch is queued on every connection: the spans end, and the counts that moved are sent.</summary>
    private void Complete(DeliveryBatch batch)
    {
        var broadcast = false;
        foreach (var step in batch.Steps)
        {
            step.EndSpans();
            if (step is UserNotificationStep { SendsUnreadCount: false } user)
            {
                _unreadCounts.Request(user.UserId);
            }
            broadcast |= step is BroadcastRunStep;
        }
        if (broadcast)
        {
            _unreadCounts.RequestEveryone(); // everyone's count moved: one sweep for all
        }
    }

    /// <summary>The lanes are free: what waited is the next batch (null when nothing did: the next one then goes at once).</summary>
    private List<SequencedNotification>? TakeWaiting()
    {
        lock (_waiting)
        {
            if (_waiting.Count == 0)
            {
                _writing = false;
                return null;
            }
            List<SequencedNotification> next = [.. _waiting];
            _waiting.Clear();
            return next;
        }
    }

    public void Deliver(UserEvent userEvent)
    {
        var connections = _registry.ForUser(userEvent.UserId);
        if (connections.IsEmpty)
        {
            return;
        }
        var frames = new EventFrames(userEvent.Target, userEvent.Payload);
        foreach (var connection in connections)
        {
            connection.EnqueueEvent(frames);
        }
    }

    /// <summary>Stops the lanes (the host is stopping; batches still queued are written first, boundedly).</summary>
    public void Dispose()
    {
        foreach (var lane in _lanes)
        {
            lane.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Delivering a batch of users' notifications on the handing thread failed")]
    private static partial void LogInlineDeliveryFailed(ILogger logger, Exception exception);
}
