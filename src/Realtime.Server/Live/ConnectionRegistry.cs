using System.Collections.Concurrent;
using System.Collections.Immutable;
using Microsoft.Extensions.Options;

namespace Realtime.Server.Live;

/// <summary>
/// This node's live connections (hub and SSE), by user, and in <see cref="LiveOptions.DispatchLanes"/>
/// lanes (each connection in one, dealt in turn) for the dispatcher's lanes to write to. Reads are
/// lock-free snapshots. A user holds at most <see cref="LiveOptions.MaxConnectionsPerUser"/>; a
/// connection beyond that closes the user's oldest.
/// </summary>
internal sealed partial class ConnectionRegistry(IOptions<LiveOptions> options, ILogger<ConnectionRegistry> logger)
{
    private readonly ConcurrentDictionary<string, ImmutableArray<LiveConnection>> _byUser = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<LiveConnection, byte>[] _lanes =
        [.. Enumerable.Range(0, options.Value.DispatchLanes).Select(_ => new ConcurrentDictionary<LiveConnection, byte>())];
    private int _nextLane = -1;

    public int Count => _lanes.Sum(lane => lane.Count);

    /// <summary>How many lanes the connections are dealt into.</summary>
    public int Lanes => _lanes.Length;

    /// <summary>Raised after a connection joins (presence records it). Handlers must be quick.</summary>
    public event Action<LiveConnection>? Added;

    /// <summary>Raised after a connection leaves. Handlers must be quick.</summary>
    public event Action<LiveConnection>? Removed;

    /// <summary>Every connection, enumerated without locks or a copy (one added or removed meanwhile may or may not be seen).</summary>
    public IEnumerable<LiveConnection> All => Enumerable.Range(0, _lanes.Length).SelectMany(InLane);

    /// <summary>The connections of one lane, enumerated like <see cref="All"/>.</summary>
    public IEnumerable<LiveConnection> InLane(int lane)
    {
        foreach (var (connection, _) in _lanes[lane])
        {
            yield return connection;
        }
    }

    /// <summary>The users with a connection here, each once.</summary>
    public IEnumerable<string> Users => _byUser.Select(entry => entry.Key);

    public ImmutableArray<LiveConnection> ForUser(string userId) =>
        _byUser.TryGetValue(userId, out var connections) ? connections : ImmutableArray<LiveConnection>.Empty;

    public void Add(LiveConnection connection)
    {
        connection.Lane = (int)((uint)Interlocked.Increment(ref _nextLane) % (uint)_lanes.Length);
        var connections = _byUser.AddOrUpdate(connection.UserId, _ => [connection], (_, existing) => existing.Add(connection));
        _lanes[connection.Lane].TryAdd(connection, 0);
        Added?.Invoke(connection);

        var max = options.Value.MaxConnectionsPerUser;
        if (max > 0 && connections.Length > max)
        {
            // In the order they were added: the oldest first. Each leaves the registry as it closes.
            foreach (var oldest in connections.Take(connections.Length - max))
            {
                LogOldestClosed(logger, connection.UserId, max, oldest.Id, oldest.Transport);
                oldest.Close();
            }
        }
    }

    public void Remove(LiveConnection connection)
    {
        if (!_lanes[connection.Lane].TryRemove(connection, out _))
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

    [LoggerMessage(Level = LogLevel.Debug, Message = "User {UserId} passed {Max} connections on this node; closing the oldest, {ConnectionId} ({Transport})")]
    private static partial void LogOldestClosed(ILogger logger, string userId, int max, string connectionId, string transport);
}
