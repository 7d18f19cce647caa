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

    public TimeSpan ClosedConnectionRetention => TimeSpan.FromDays(ClosedConnectionRetentionDays);

    public TimeSpan NodeTimeout => TimeSpan.FromSeconds(NodeTimeoutSeconds);

    public TimeSpan HeartbeatInterval => NodeTimeout / 3;
}
