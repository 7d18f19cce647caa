namespace Realtime.Server.Presence;

/// <summary>Presence's log messages: node lifecycle at Information, per-batch writes at Debug.</summary>
internal static partial class PresenceLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} registered for presence (heartbeat every third of {NodeTimeoutSeconds} s)")]
    public static partial void NodeRegistered(ILogger logger, string nodeId, int nodeTimeoutSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} left presence: {Connections} connections closed")]
    public static partial void NodeClosed(ILogger logger, string nodeId, int connections);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {NodeId} could not close its connection records at shutdown ({Reason}); the other nodes close them after {NodeTimeoutSeconds} s")]
    public static partial void NodeCloseFailed(ILogger logger, string nodeId, int nodeTimeoutSeconds, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Presence wrote {Opened} opened and {Closed} closed connections")]
    public static partial void BatchWritten(ILogger logger, int opened, int closed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Presence {Step} failed ({Pending} events waiting); retrying")]
    public static partial void WriteFailed(ILogger logger, string step, int pending, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Presence writes succeed again after {Failures} failed attempts")]
    public static partial void Recovered(ILogger logger, int failures);

    [LoggerMessage(Level = LogLevel.Error, Message = "Presence {Step} failed {Failures} times with an error that is not an outage; dropped {Pending} events (the next heartbeat reconciles this node's records)")]
    public static partial void Dropped(ILogger logger, string step, int pending, int failures, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {NodeId} had been taken for dead by the others; its row and {Connections} live connections are recorded again")]
    public static partial void Revived(ILogger logger, string nodeId, int connections);

    [LoggerMessage(Level = LogLevel.Information, Message = "Presence sweep: {DeadNodes} silent nodes removed, {Closed} of their connections closed")]
    public static partial void Swept(ILogger logger, int deadNodes, int closed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Presence housekeeping failed ({Reason}); retrying after the next heartbeat interval")]
    public static partial void HousekeepingFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Presence purged {Purged} closed connection records")]
    public static partial void Purged(ILogger logger, int purged);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Presence dropped the record of connection {ConnectionId}: PostgreSQL refused it ({Reason}); the other records are written")]
    public static partial void RowDropped(ILogger logger, string connectionId, string reason);
}
