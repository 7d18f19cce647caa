using System.Collections.Immutable;
using System.Diagnostics;
using Realtime.Server.Bus;
using Realtime.Server.Observability;

namespace Realtime.Server.Live;

/// <summary>
/// What the sequencer had ready, as the dispatcher hands it to every lane: steps in id order (a
/// run of broadcasts, or a notification for one user's connections). Each lane delivers every step
/// to the connections it owns; the last lane to finish completes the batch (spans, unread counts),
/// so nothing about a notification is announced before every connection has it queued.
/// </summary>
internal sealed class DeliveryBatch(IReadOnlyList<DeliveryStep> steps, int lanes, Action<DeliveryBatch> delivered)
{
    private int _lanesLeft = lanes;

    public IReadOnlyList<DeliveryStep> Steps { get; } = steps;

    public void DeliverIn(int lane, ConnectionRegistry registry)
    {
        foreach (var step in Steps)
        {
            step.DeliverIn(lane, registry);
        }
    }

    /// <summary>Delivers every step to the connections of every lane, on this thread (a small batch: see <see cref="Dispatcher"/>).</summary>
    public void DeliverInEveryLane(ConnectionRegistry registry)
    {
        for (var lane = 0; lane < registry.Lanes; lane++)
        {
            DeliverIn(lane, registry);
        }
    }

    /// <summary>One lane is done with the batch; the last one completes it.</summary>
    public void LaneDone()
    {
        if (Interlocked.Decrement(ref _lanesLeft) == 0)
        {
            delivered(this);
        }
    }
}

/// <summary>One step of a <see cref="DeliveryBatch"/>, with its delivery spans (if traced) and how many connections got it.</summary>
internal abstract class DeliveryStep(Activity?[] spans)
{
    private int _connections;

    /// <summary>Connections it was queued on, over every lane.</summary>
    public int Connections => Volatile.Read(ref _connections);

    public abstract void DeliverIn(int lane, ConnectionRegistry registry);

    protected void Counted(int connections) => Interlocked.Add(ref _connections, connections);

    /// <summary>Ends the spans (started on the sequencer's thread), leaving this thread's current activity as it was.</summary>
    public void EndSpans()
    {
        var current = Activity.Current;
        foreach (var span in spans)
        {
            span?.SetTag(RealtimeTracing.ConnectionsTag, Connections);
            span?.Dispose();
        }
        Activity.Current = current;
    }
}

/// <summary>Consecutive broadcasts as one run: the same frames for every connection of the lane.</summary>
/// <remarks>
/// Each lane writes frames of its own (serialized once per lane and protocol): shared ones would
/// have every lane take the same serialized message's lock for each of its connections.
/// </remarks>
internal sealed class BroadcastRunStep(SequencedNotification[] run, Activity?[] spans) : DeliveryStep(spans)
{
    public override void DeliverIn(int lane, ConnectionRegistry registry)
    {
        var frames = NotificationFrames.Run([.. run.Select(notification => new NotificationFrames(notification))]);
        var delivered = 0;
        foreach (var connection in registry.InLane(lane))
        {
            connection.EnqueueNotification(frames);
            delivered++;
        }
        Counted(delivered);
    }
}

/// <summary>
/// A notification for one user: that user's connections in the lane (what it replaced is deleted
/// first), then the user's unread count when the commit read it (<paramref name="unread"/>; when it
/// did not, the dispatcher asks <see cref="UnreadCountRefresher"/> once the batch is delivered).
/// </summary>
internal sealed class UserNotificationStep(NotificationFrames frames, EventFrames? replaced, EventFrames? unread,
    ImmutableArray<LiveConnection> connections, Activity? span, UnreadCountRefresher unreadCounts)
    : DeliveryStep([span])
{
    public string UserId => frames.Notification.UserId!;

    /// <summary>The user's connections on this node, over every lane.</summary>
    public int ConnectionCount => connections.Length;

    /// <summary>Whether the step sends the unread count itself.</summary>
    public bool SendsUnreadCount => unread is not null;

    public override void DeliverIn(int lane, ConnectionRegistry registry)
    {
        var delivered = 0;
        var queries = unreadCounts.QueriesBeforeQueueing();
        foreach (var connection in connections)
        {
            if (connection.Lane != lane)
            {
                continue;
            }
            if (replaced is not null)
            {
                connection.EnqueueEvent(replaced);
            }
            connection.EnqueueNotification(frames);
            if (unread is not null)
            {
                connection.EnqueueEvent(unread);
            }
            delivered++;
        }
        if (unread is not null && delivered > 0)
        {
            unreadCounts.QueuedKnownCount(UserId, queries);
        }
        Counted(delivered);
    }
}
