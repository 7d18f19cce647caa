using Realtime.Server.Bus;
using Realtime.Server.Contracts;
using Realtime.Server.Observability;

namespace Realtime.Server.Live;

/// <summary>
/// Hands sequenced notifications and per-user events to this node's connections. It only enqueues
/// (never waits for a client), so one slow connection cannot hold anyone else up. Each notification
/// is wrapped once (<see cref="NotificationFrames"/>), so every connection that gets it shares the
/// same serialized frames.
/// </summary>
internal sealed class Dispatcher(ConnectionRegistry registry, UnreadCountRefresher unreadCounts, TimeProvider time)
{
    public void Deliver(SequencedNotification notification)
    {
        using var span = RealtimeTracing.StartDelivery(notification);
        if (notification.ExpiresAt <= time.GetUtcNow().UtcDateTime)
        {
            return;
        }

        var frames = new NotificationFrames(notification);
        if (notification.UserId is null)
        {
            // A broadcast: the same frames for every connection, and everyone's count moved (one sweep for all).
            var delivered = 0;
            foreach (var connection in registry.All)
            {
                connection.EnqueueNotification(frames);
                delivered++;
            }
            span?.SetTag(RealtimeTracing.ConnectionsTag, delivered);
            unreadCounts.RequestEveryone();
            return;
        }

        var connections = registry.ForUser(notification.UserId);
        span?.SetTag(RealtimeTracing.ConnectionsTag, connections.Length);
        if (connections.IsEmpty)
        {
            return;
        }
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
        unreadCounts.Request(notification.UserId);
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
