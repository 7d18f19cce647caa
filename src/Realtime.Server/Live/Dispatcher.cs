using Realtime.Server.Bus;
using Realtime.Server.Observability;

namespace Realtime.Server.Live;

/// <summary>
/// Hands sequenced notifications and per-user events to this node's connections. It only enqueues
/// (never waits for a client), so one slow connection cannot hold anyone else up.
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

        var delivered = 0;
        if (notification.UserId is null)
        {
            // A broadcast: the same serialized message for every connection, and everyone's count moved.
            foreach (var connection in registry.All)
            {
                connection.EnqueueNotification(notification);
                unreadCounts.Request(connection.UserId);
                delivered++;
            }
            span?.SetTag(RealtimeTracing.ConnectionsTag, delivered);
            return;
        }

        var connections = registry.ForUser(notification.UserId);
        span?.SetTag(RealtimeTracing.ConnectionsTag, connections.Length);
        if (connections.IsEmpty)
        {
            return;
        }
        foreach (var connection in connections)
        {
            connection.EnqueueNotification(notification);
        }
        unreadCounts.Request(notification.UserId);
    }

    public void Deliver(UserEvent userEvent)
    {
        foreach (var connection in registry.ForUser(userEvent.UserId))
        {
            connection.EnqueueEvent(userEvent.Target, userEvent.Payload);
        }
    }
}
