using Realtime.Server.Bus;
using Realtime.Server.Contracts;

namespace Realtime.Server.Live;

/// <summary>
/// Hands sequenced notifications and per-user events to this node's connections. It only enqueues
/// (never waits for a client), so one slow connection cannot hold anyone else up.
/// </summary>
internal sealed class Dispatcher(ConnectionRegistry registry, UnreadCountRefresher unreadCounts, TimeProvider time)
{
    public void Deliver(SequencedNotification notification)
    {
        if (notification.ExpiresAt <= time.GetUtcNow().UtcDateTime)
        {
            return;
        }

        if (notification.UserId is null)
        {
            // A broadcast: the same serialized message for every connection, and everyone's count moved.
            foreach (var connection in registry.All)
            {
                connection.EnqueueNotification(notification);
                unreadCounts.Request(connection.UserId);
            }
            return;
        }

        var connections = registry.ForUser(notification.UserId);
        if (connections.IsEmpty)
        {
            return;
        }
        foreach (var connection in connections)
        {
            if (notification.Replaced is { } replaced)
            {
                connection.EnqueueEvent(ClientTargets.NotificationDeleted, replaced);
            }
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
