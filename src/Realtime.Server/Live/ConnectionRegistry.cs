using System.Collections.Concurrent;
using System.Collections.Immutable;

namespace Realtime.Server.Live;

/// <summary>This node's live connections (hub and SSE), by user. Reads are lock-free snapshots.</summary>
internal sealed class ConnectionRegistry
{
    private readonly ConcurrentDictionary<string, ImmutableArray<LiveConnection>> _byUser = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<LiveConnection, byte> _all = new();

    public int Count => _all.Count;

    /// <summary>Raised after a connection joins (presence records it). Handlers must be quick.</summary>
    public event Action<LiveConnection>? Added;

    /// <summary>Raised after a connection leaves. Handlers must be quick.</summary>
    public event Action<LiveConnection>? Removed;

    public ICollection<LiveConnection> All => _all.Keys;

    public ImmutableArray<LiveConnection> ForUser(string userId) =>
        _byUser.TryGetValue(userId, out var connections) ? connections : ImmutableArray<LiveConnection>.Empty;

    public void Add(LiveConnection connection)
    {
        _byUser.AddOrUpdate(connection.UserId, _ => [connection], (_, existing) => existing.Add(connection));
        _all.TryAdd(connection, 0);
        Added?.Invoke(connection);
    }

    public void Remove(LiveConnection connection)
    {
        if (!_all.TryRemove(connection, out _))
        {
            return;
        }
        Removed?.Invoke(connection);
        while (_byUser.TryGetValue(connection.UserId, out var existing))
        {
            var remaining = existing.Remove(connection);
            var done = remaining.IsEmpty
                ? _byUser.TryRemove(new KeyValuePair<string, ImmutableArray<LiveConnection>>(connection.UserId, existing))
                : _byUser.TryUpdate(connection.UserId, remaining, existing);
            if (done)
            {
                return;
            }
        }
    }
}
