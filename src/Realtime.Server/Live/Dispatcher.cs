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
/// per connection for all of them).
/// </summary>
internal sealed class Dispatcher(ConnectionRegistry registry, UnreadCountRefresher unreadCounts, TimeProvider time, IOptions<LiveOptions> options)
{
    /// <summary>At most this many notifications, and <see cref="MaxRunBytes"/>, in one run.</summary>
    private const int MaxRunNotifications = 64;
    private const long MaxRunBytes = 64 * 1024;

    /// <summary>Notifications in id order (what the sequencer has ready).</summary>
    public void Deliver(IReadOnlyList<SequencedNotification> notifications)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var live = options.Value;
        var maxCount = Math.Min(MaxRunNotifications, live.ConnectionQueueCapacity);
        var maxBytes = Math.Min(MaxRunBytes, live.ConnectionQueueBytes);
        var run = new List<NotificationFrames>();
        long runBytes = 0;
        foreach (var notification in notifications)
        {
            if (notification.ExpiresAt <= now)
            {
                continue;
            }
            if (notification.UserId is not null)
            {
                DeliverBroadcasts(run);
                runBytes = 0;
                DeliverToUser(notification);
                continue;
            }
            var frames = new NotificationFrames(notification);
            if (run.Count > 0 && (run.Count == maxCount || runBytes + frames.Size > maxBytes))
            {
                DeliverBroadcasts(run);
                runBytes = 0;
            }
            run.Add(frames);
            runBytes += frames.Size;
        }
        DeliverBroadcasts(run);
    }

    /// <summary>A run of broadcasts: the same frames for every connection, and everyone's count moved (one sweep for all).</summary>
    private void DeliverBroadcasts(List<NotificationFrames> run)
    {
        if (run.Count == 0)
        {
            return;
        }
        var spans = run.Select(frames => RealtimeTracing.StartDelivery(frames.Notification)).ToArray();
        var frames = NotificationFrames.Run(run);
        run.Clear();
        var delivered = 0;
        foreach (var connection in registry.All)
        {
            connection.EnqueueNotification(frames);
            delivered++;
        }
        foreach (var span in spans)
        {
            span?.SetTag(RealtimeTracing.ConnectionsTag, delivered);
            span?.Dispose();
        }
        unreadCounts.RequestEveryone();
    }

    private void DeliverToUser(SequencedNotification notification)
    {
        using var span = RealtimeTracing.StartDelivery(notification);
        var connections = registry.ForUser(notification.UserId!);
        span?.SetTag(RealtimeTracing.ConnectionsTag, connections.Length);
        if (connections.IsEmpty)
        {
            return;
        }
        var frames = new NotificationFrames(notification);
        // What a collapse key replaced is deleted on the client right before the replacement arrives.
        var replaced = notification.Replaced is { } deleted ? new EventFrames(ClientTargets.NotificationDeleted, deleted) : null;
        foreach (var connection in connections)
        {
            if (replaced is not null)
            {
                connection.EnqueueEvent(replaced);
            }
            connection.EnqueueNotification(frames);
        }
        unreadCounts.Request(notification.UserId!);
    }

    public void Deliver(UserEvent userEvent)
    {
        var connections = registry.ForUser(userEvent.UserId);
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
}
