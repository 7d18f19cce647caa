using System.Diagnostics;
using Realtime.Server.Bus;

namespace Realtime.Server.Observability;

/// <summary>
/// The spans of a send, from the HTTP request to every node's delivery (README "Tracing"):
/// <list type="bullet">
/// <item><c>realtime.send.commit</c>, a child of the request: the send's wait in the group-commit queue and its transaction.</item>
/// <item><c>realtime.commit.batch</c>: the one transaction many sends share (with Npgsql's spans under it). It is a
/// child of the first waiting send's commit span and links to the others; each of those links back to it.</item>
/// <item><c>realtime.deliver</c>, a child of the request on every node: the notification handed to that node's connections.
/// The request's context travels with the notification on the bus (<see cref="SequencedNotification.Trace"/>).</item>
/// </list>
/// </summary>
internal static class RealtimeTracing
{
    public const string SourceName = "Realtime";
    public const string CorrelationIdTag = "realtime.correlation_id";
    public const string ConnectionsTag = "realtime.connections";

    // One source for the process, as .NET's own libraries do: listeners choose sources by name, so a
    // source per node would not keep two nodes of one process apart anyway. It holds no state of ours.
    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>
    /// The context to carry to the delivery spans: the current (request) span's, when it is recorded.
    /// An unrecorded one (tracing off, or not sampled) is not carried, so the bus message stays as small as before.
    /// </summary>
    public static ActivityContext CurrentForDelivery() =>
        Activity.Current is { Recorded: true } current ? current.Context : default;

    /// <summary>A send's wait in the commit queue and its transaction, under the request.</summary>
    public static Activity? StartSendCommit(int notifications)
    {
        var span = Source.StartActivity("realtime.send.commit");
        span?.SetTag("realtime.notifications", notifications);
        return span;
    }

    /// <summary>
    /// The transaction shared by <paramref name="waiting"/>: parented to the first send's commit span
    /// (so a lone send is one tree, Npgsql's spans included), linked to the others, which link back.
    /// </summary>
    public static Activity? StartCommitBatch(IReadOnlyList<Activity?> waiting)
    {
        if (!Source.HasListeners())
        {
            return null;
        }
        ActivityContext parent = default;
        List<ActivityLink>? links = null;
        foreach (var wait in waiting)
        {
            if (wait is null)
            {
                continue;
            }
            if (parent == default)
            {
                parent = wait.Context;
            }
            else
            {
                (links ??= []).Add(new ActivityLink(wait.Context));
            }
        }
        if (parent == default)
        {
            return null; // no send of this batch is traced
        }
        var batch = Source.StartActivity("realtime.commit.batch", ActivityKind.Internal, parent, links: links);
        if (batch is null)
        {
            return null;
        }
        batch.SetTag("realtime.commit.sends", waiting.Count);
        foreach (var wait in waiting)
        {
            if (wait is not null && wait.Context != parent)
            {
                wait.AddLink(new ActivityLink(batch.Context));
            }
        }
        return batch;
    }

    /// <summary>A notification handed to this node's connections, in the trace of the request that sent it (none when it carries no context).</summary>
    public static Activity? StartDelivery(SequencedNotification notification)
    {
        if (notification.Trace == default || !Source.HasListeners())
        {
            return null;
        }
        var span = Source.StartActivity("realtime.deliver", ActivityKind.Consumer, notification.Trace);
        span?.SetTag("realtime.notification.id", notification.Id);
        return span;
    }
}
