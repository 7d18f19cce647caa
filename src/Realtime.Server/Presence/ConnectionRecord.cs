using Realtime.Server.Auth;
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

    /// <summary>
    /// A header as the client sent it, made safe to store: no control characters (NUL cannot be
    /// stored at all, the others only forge log and admin views), no unpaired surrogates (not
    /// UTF-8), and cut to <paramref name="maxLength"/> without splitting a surrogate pair. One bad
    /// header must not fail the batch it is written in.
    /// </summary>
    public static string? CleanText(string? value, int maxLength)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }
        if (TextRules.HasControlCharacter(value) || TextRules.HasLoneSurrogate(value))
        {
            var clean = new System.Text.StringBuilder(value.Length);
            for (var i = 0; i < value.Length; i++)
            {
                var c = value[i];
                if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
                {
                    clean.Append(c).Append(value[++i]);
                }
                else if (char.IsSurrogate(c))
                {
                    clean.Append('\uFFFD');
                }
                else if (!char.IsControl(c))
                {
                    clean.Append(c);
                }
            }
            value = clean.ToString();
        }
        value = TextRules.Truncate(value, maxLength);
        return value.Length == 0 ? null : value;
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
