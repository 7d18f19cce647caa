namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>
/// Record-separator framing of the SignalR JSON hub protocol: every message is a UTF-8 JSON text terminated by
/// the ASCII record separator (0x1E). WebSocket frame boundaries mean nothing to this framing: one frame can carry
/// several records and one record can span several frames, so incoming bytes are accumulated here and complete
/// records are read back out. Not thread-safe; it is owned by a single reader.
/// </summary>
internal sealed class RecordSeparatorFramer
{
    /// <summary>The record separator terminating every message.</summary>
    public const byte Separator = 0x1E;

    private byte[] _buffer;
    private int _start; // first unread byte
    private int _end;   // one past the last buffered byte

    public RecordSeparatorFramer(int initialCapacity = 4096) => _buffer = new byte[Math.Max(16, initialCapacity)];

    /// <summary>Number of buffered bytes that do not yet form a complete record.</summary>
    public int PendingByteCount => _end - _start;

    /// <summary>Returns <paramref name="payload"/> followed by the record separator.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> payload)
    {
        var framed = new byte[payload.Length + 1];
        payload.CopyTo(framed);
        framed[^1] = Separator;
        return framed;
    }

    /// <summary>Appends received bytes. Invalidates memory previously returned by <see cref="TryReadRecord"/>.</summary>
    public void Append(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return;
        }

        if (_buffer.Length - _end < bytes.Length)
        {
            MakeRoom(bytes.Length);
        }

        bytes.CopyTo(_buffer.AsSpan(_end));
        _end += bytes.Length;
    }

    /// <summary>
    /// Reads the next complete record (without its separator). The returned memory is only valid until the next
    /// call to <see cref="Append"/>.
    /// </summary>
    public bool TryReadRecord(out ReadOnlyMemory<byte> record)
    {
        var index = _buffer.AsSpan(_start, _end - _start).IndexOf(Separator);
        if (index < 0)
        {
            record = default;
            return false;
        }

        record = _buffer.AsMemory(_start, index);
        _start += index + 1;
        return true;
    }

    private void MakeRoom(int needed)
    {
        var pending = _end - _start;
        var target = _buffer;
        if (_buffer.Length - pending < needed)
        {
            var capacity = _buffer.Length;
            while (capacity - pending < needed)
            {
                capacity *= 2;
            }

            target = new byte[capacity];
        }

        // Compact: move the unread tail to the front (of the same or a larger buffer).
        Buffer.BlockCopy(_buffer, _start, target, 0, pending);
        _buffer = target;
        _start = 0;
        _end = pending;
    }
}
