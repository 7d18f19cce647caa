using Realtime.Server.Live;

namespace Realtime.Server.Presence;

/// <summary>What presence records about one of this node's connections (its row in <c>connections</c>).</summary>
internal sealed record ConnectionRecord(
    string Id,
    string UserId,
    string Transport,
    string? UserAgent,
    string? Ip,
    DateTime ConnectedAt,
    DateTime? DisconnectedAt = null)
{
    /// <summary>Enough for any real browser; a longer header is cut rather than stored whole.</summary>
    public const int MaxUserAgentLength = 512;

    /// <summary>An IPv6 address with a zone id fits.</summary>
    public const int MaxIpLength = 64;

    public static ConnectionRecord From(LiveConnection connection) => new(
        connection.Id,
        connection.UserId,
        connection.Transport,
        CleanText(connection.UserAgent, MaxUserAgentLength),
        CleanText(connection.RemoteIp, MaxIpLength),
        connection.ConnectedAt.UtcDateTime);

    /// <summary>PostgreSQL text cannot hold NUL; one bad header must not fail the batch it is written in.</summary>
    public static string? CleanText(string? value, int maxLength)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }
        if (value.Contains('\0'))
        {
            value = value.Replace("\0", "", StringComparison.Ordinal);
        }
        return value.Length > maxLength ? value[..maxLength] : value;
    }
}

/// <summary>
/// Connection events waiting to be written, folded so that one statement writes them all: a
/// connection that opened and closed before it was written is inserted already closed.
/// </summary>
internal sealed class PresenceBatch
{
    private readonly Dictionary<string, ConnectionRecord> _opened = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTime> _closed = new(StringComparer.Ordinal);

    public int Count => _opened.Count + _closed.Count;

    public bool IsEmpty => Count == 0;

    /// <summary>Connections to insert (some already closed).</summary>
    public ICollection<ConnectionRecord> Opened => _opened.Values;

    /// <summary>Connections written earlier that have closed since, with when.</summary>
    public IReadOnlyDictionary<string, DateTime> Closed => _closed;

    public void Open(ConnectionRecord connection) => _opened[connection.Id] = connection;

    public void Close(string id, DateTime at)
    {
        if (_opened.TryGetValue(id, out var opened))
        {
            _opened[id] = opened with { DisconnectedAt = at };
        }
        else
        {
            _closed[id] = at;
        }
    }

    public void Clear()
    {
        _opened.Clear();
        _closed.Clear();
    }
}
