using System.ComponentModel.DataAnnotations;

namespace Realtime.Server.Presence;

internal sealed class PresenceOptions
{
    public const string SectionName = "Presence";

    /// <summary>Heartbeats go out every third of the timeout, so a node must miss two before it counts as dead.</summary>
    public const int MinimumNodeTimeoutSeconds = 3;

    /// <summary>
    /// Seconds without a heartbeat after which a node counts as dead: its connections stop counting
    /// as online at once, and the other nodes mark them disconnected. 30 s: a node that died is
    /// noticed within half a minute, and a GC pause or a database failover does not get a healthy
    /// node declared dead.
    /// </summary>
    [Range(MinimumNodeTimeoutSeconds, 24 * 60 * 60)]
    public int NodeTimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// Days a closed connection row (one with <c>disconnected_at</c>) is kept, for looking into
    /// incidents, before presence housekeeping purges it.
    /// </summary>
    [Range(1, 3650)]
    public int ClosedConnectionRetentionDays { get; set; } = 7;

    /// <summary>
    /// Seconds between a node's full reconciles of its connection rows: each refreshes
    /// <c>last_seen_at</c> of every live connection and closes any open row of the node that is not
    /// live there (a close lost to a write error). Between them a heartbeat writes only the node's
    /// own row: whether a connection is online is its node's heartbeat, so rewriting every row every
    /// heartbeat (thousands of row updates a second across a cluster holding 100,000 connections)
    /// bought nothing. A node reconciles at once when it finds itself taken for dead, and after a
    /// write it had to drop. 300 s: a lost close is put right within five minutes.
    /// </summary>
    [Range(1, 24 * 60 * 60)]
    public int ReconcileIntervalSeconds { get; set; } = 300;

    public TimeSpan ReconcileInterval => TimeSpan.FromSeconds(ReconcileIntervalSeconds);

    public TimeSpan ClosedConnectionRetention => TimeSpan.FromDays(ClosedConnectionRetentionDays);

    public TimeSpan NodeTimeout => TimeSpan.FromSeconds(NodeTimeoutSeconds);

    public TimeSpan HeartbeatInterval => NodeTimeout / 3;
}
