using System.ComponentModel.DataAnnotations;

namespace Realtime.Server.Live;

/// <summary>Tuning of live delivery; every value is checked at start-up (a positive count, a positive duration of at most a day).</summary>
internal sealed class LiveOptions
{
    private const string Tick = "00:00:00.001";
    private const string Day = "1.00:00:00";

    public const string SectionName = "Live";

    /// <summary>
    /// Live connections (hub and SSE together) one user may hold on one node; a new one beyond it
    /// closes that user's oldest (a client that reconnects in a loop must not pile up connections).
    /// 0 disables the cap.
    /// </summary>
    public int MaxConnectionsPerUser { get; set; } = 100;

    /// <summary>
    /// The largest hub message a client may send (32 KiB: the hub's methods take a few numbers). A
    /// larger one closes that connection with an error, as SignalR does (the client may reconnect).
    /// </summary>
    [Range(1_024, 16 * 1024 * 1024)]
    public int MaxMessageBytes { get; set; } = 32 * 1024;

    /// <summary>Messages queued for one connection before it counts as stuck and is closed (it resumes on reconnect).</summary>
    [Range(1, int.MaxValue)]
    public int ConnectionQueueCapacity { get; set; } = 1_000;

    /// <summary>Payload bytes queued for one connection before it counts as stuck (1 MiB).</summary>
    [Range(1L, long.MaxValue)]
    public long ConnectionQueueBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// How long a new connection holds live messages back waiting for the client's first Resume, so
    /// that the replay comes first and ids never go backwards. A client that never resumes gets its
    /// first live messages this much later.
    /// </summary>
    [Range(typeof(TimeSpan), Tick, Day)]
    public TimeSpan ResumeGracePeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A broadcast moves every connected user's unread count: the new counts are read and sent at
    /// most this often for broadcasts (one query per 1,000 connected users and one <c>unreadCount</c>
    /// each, however many broadcasts came in the interval). The first broadcast after a quiet spell
    /// is counted at once; the last count sent always includes every broadcast.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", Day)]
    public TimeSpan BroadcastUnreadCountInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Threads that write notifications to this node's connections, each to its share of them: a
    /// broadcast's fan-out to thousands of connections then uses every core (one per core by default).
    /// </summary>
    [Range(1, 64)]
    public int DispatchLanes { get; set; } = Environment.ProcessorCount;

    /// <summary>Notifications read from PostgreSQL per query during a replay.</summary>
    [Range(1, 100_000)]
    public int ReplayPageSize { get; set; } = 500;

    /// <summary>
    /// How often a hub client gets a SignalR ping when nothing else was being written to it (the
    /// official clients close a connection they heard nothing from for 30 s, their serverTimeout).
    /// Written by <see cref="KeepAliveScheduler"/>, spread evenly over the interval.
    /// </summary>
    [Range(typeof(TimeSpan), Tick, Day)]
    public TimeSpan HubKeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often an SSE stream gets a <c>: ping</c> comment, so proxies keep it open (spread like the hub's).</summary>
    [Range(typeof(TimeSpan), Tick, Day)]
    public TimeSpan SseKeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long the sequencer waits for a missing id range before reading it from PostgreSQL.</summary>
    [Range(typeof(TimeSpan), Tick, Day)]
    public TimeSpan GapWait { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// With nothing heard for this long, the sequencer asks PostgreSQL for ids past the last it saw
    /// (a lost message with nothing after it); a cheap indexed query.
    /// </summary>
    [Range(typeof(TimeSpan), Tick, Day)]
    public TimeSpan IdlePollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The same for a node that runs alone (no Redis), when longer than <see cref="IdlePollInterval"/>:
    /// its own commits reach its sequencer in-process, so the poll only catches a commit whose outcome
    /// the node could not see (its connection broke during COMMIT) with nothing sent after it. Each poll
    /// wakes the thread pool and queries PostgreSQL, the largest part of an idle node's own CPU.
    /// </summary>
    [Range(typeof(TimeSpan), Tick, Day)]
    public TimeSpan LocalIdlePollInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The same while the bus is down and for a while after it returns: delivery goes on, slower.</summary>
    [Range(typeof(TimeSpan), Tick, Day)]
    public TimeSpan OutagePollInterval { get; set; } = TimeSpan.FromMilliseconds(200);
}
