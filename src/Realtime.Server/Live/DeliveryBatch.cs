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
    /// <summary>Connections a lane takes at a time from a shared batch (see <see cref="DeliverShared"/>).</summary>
    internal const int SharedChunk = 64;

    private int _lanesLeft = lanes;

    // Only broadcasts: every lane writes its own connections, then helps with the others' (below).
    private readonly bool _shared = lanes > 1 && steps.All(step => step is BroadcastRunStep);
    // Guarded by itself (a shared batch): each lane's connections, as they are handed out in chunks.
    private readonly IEnumerator<LiveConnection>?[] _partitions = new IEnumerator<LiveConnection>?[lanes];
    private readonly bool[] _partitionDone = new bool[lanes];

    public IReadOnlyList<DeliveryStep> Steps { get; } = steps;

    public void DeliverIn(int lane, ConnectionRegistry registry)
    {
        if (_shared)
        {
            DeliverShared(lane, registry);
            return;
        }
        foreach (var step in Steps)
        {
            step.DeliverIn(lane, registry);
        }
    }

    /// <summary>
    /// A batch of broadcasts only: the lane writes its own connections, then takes chunks of the
    /// lanes still writing, so the batch ends when the work does rather than when the slowest lane
    /// (the one the scheduler ran least) is done while the other waits; the next batch starts that
    /// much sooner. Each connection is handed out once and gets every run of the batch, in order,
    /// from the thread that took it; the next batch starts only when every lane is done with this one,
    /// so a connection still gets its notifications in id order.
    /// </summary>
    private void DeliverShared(int lane, ConnectionRegistry registry)
    {
        var runs = new NotificationFrames[Steps.Count];
        for (var i = 0; i < runs.Length; i++)
        {
            runs[i] = ((BroadcastRunStep)Steps[i]).NewFrames();
        }
        var chunk = new LiveConnection[SharedChunk];
        var delivered = 0;
        for (var k = 0; k < _partitions.Length; k++)
        {
            var partition = (lane + k) % _partitions.Length;
            int taken;
            while ((taken = Take(partition, registry, chunk)) > 0)
            {
                for (var c = 0; c < taken; c++)
                {
                    foreach (var run in runs)
                    {
                        chunk[c].EnqueueNotification(run);
                    }
                }
                delivered += taken;
            }
        }
        foreach (var step in Steps)
        {
            ((BroadcastRunStep)step).Delivered(delivered);
        }
    }

    /// <summary>Up to <see cref="SharedChunk"/> connections of <paramref name="partition"/> not yet handed out; 0 when none are left.</summary>
    private int Take(int partition, ConnectionRegistry registry, LiveConnection[] chunk)
    {
        lock (_partitions)
        {
            if (_partitionDone[partition])
            {
                return 0;
            }
            var connections = _partitions[partition] ??= registry.InLane(partition).GetEnumerator();
            var taken = 0;
            while (taken < chunk.Length && connections.MoveNext())
            {
                chunk[taken++] = connections.Current;
            }
            if (taken < chunk.Length)
            {
                _partitionDone[partition] = true;
                connections.Dispose();
            }
            return taken;
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
        var frames = NewFrames();
        var delivered = 0;
        foreach (var connection in registry.InLane(lane))
        {
            connection.EnqueueNotification(frames);
            delivered++;
        }
        Counted(delivered);
    }

    /// <summary>The run's frames, new for the calling lane.</summary>
    public NotificationFrames NewFrames() => NotificationFrames.Run([.. run.Select(notification => new NotificationFrames(notification))]);

    /// <summary>A lane queued the run on <paramref name="connections"/> connections.</summary>
    public void Delivered(int connections) => Counted(connections);
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
