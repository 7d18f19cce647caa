namespace Realtime.Server.Bus;

/// <summary>This node's id: unique per process, readable in presence and stats (host name first).</summary>
internal sealed class NodeIdentity
{
    public string Id { get; } = $"{Environment.MachineName}-{Guid.NewGuid().ToString("N")[..8]}".ToLowerInvariant();
}
