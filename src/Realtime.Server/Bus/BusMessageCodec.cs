using System.Diagnostics;
using System.Buffers.Binary;
using System.Text;
using Realtime.Server.Contracts;

namespace Realtime.Server.Bus;

/// <summary>
/// The bytes of a bus message between nodes: the sender's node id, then a batch (id range and
/// every notification's pre-serialized JSON, copied as is, with the notificationDeleted payload of
/// what its collapse key replaced) or a per-user event. Little-endian, length-prefixed, versioned by
/// its first byte (a node refuses other versions; its sequencer then reads those ranges from
/// PostgreSQL). A batch may end with a trace section (the trace context of each item's request, in
/// runs); a batch without it decodes with no contexts.
/// </summary>
internal static class BusMessageCodec
{
    private const byte Version = 2;
    private const byte BatchKind = 1;
    private const byte UserEventKind = 2;
    private const byte InvalidationKind = 3;
    private const byte TraceSection = (byte)'T';
    private const int TraceContextBytes = 16 + 8 + 1; // W3C trace id, span id, flags

    public static byte[] Encode(string nodeId, NotificationBatch batch)
    {
        var writer = new Writer();
        writer.Byte(Version);
        writer.Byte(BatchKind);
        writer.String(nodeId);
        writer.Int64(batch.FirstId);
        writer.Int64(batch.LastId);
        writer.Int32(batch.Items.Count);
        foreach (var item in batch.Items)
        {
            writer.Int64(item.Id);
            writer.String(item.UserId);
            writer.Int64(item.CreatedAt.Ticks);
            writer.Int64(item.ExpiresAt?.Ticks ?? 0);
            writer.Bytes(item.Json.Utf8.Span);
            writer.OptionalBytes(item.Replaced);
        }
        WriteTraces(writer, batch.Items);
        return writer.ToArray();
    }

    /// <summary>
    /// Only when an item carries a context: <c>'T'</c>, the number of runs, then each run's item count
    /// and context (the items of one send are consecutive and share their request's context).
    /// </summary>
    private static void WriteTraces(Writer writer, IReadOnlyList<SequencedNotification> items)
    {
        if (!items.Any(item => item.Trace != default))
        {
            return;
        }
        var runs = new List<(int Count, ActivityContext Context)>();
        foreach (var item in items)
        {
            if (runs.Count > 0 && runs[^1].Context == item.Trace)
            {
                runs[^1] = (runs[^1].Count + 1, item.Trace);
            }
            else
            {
                runs.Add((1, item.Trace));
            }
        }
        writer.Byte(TraceSection);
        writer.Int32(runs.Count);
        Span<byte> context = stackalloc byte[TraceContextBytes];
        foreach (var (count, trace) in runs)
        {
            writer.Int32(count);
            context.Clear(); // zeros: an untraced run
            if (trace != default)
            {
                trace.TraceId.CopyTo(context[..16]);
                trace.SpanId.CopyTo(context[16..24]);
                context[24] = (byte)trace.TraceFlags;
            }
            writer.Raw(context);
        }
    }

    private static void ReadTraces(ref Reader reader, List<SequencedNotification> items)
    {
        if (reader.IsEmpty || reader.Byte() != TraceSection)
        {
            return;
        }
        var runCount = reader.Int32();
        var index = 0;
        for (var run = 0; run < runCount; run++)
        {
            var count = reader.Int32();
            var context = reader.Take(TraceContextBytes).Span;
            if (count < 0 || count > items.Count - index)
            {
                throw new FormatException("A trace section with more items than the batch.");
            }
            var trace = !context[..16].ContainsAnyExcept((byte)0) ? default // an untraced run
                : new ActivityContext(ActivityTraceId.CreateFromBytes(context[..16]), ActivitySpanId.CreateFromBytes(context[16..24]), (ActivityTraceFlags)context[24], isRemote: true);
            for (var end = index + count; index < end; index++)
            {
                if (trace != default)
                {
                    items[index] = items[index] with { Trace = trace };
                }
            }
        }
    }

    public static byte[] Encode(string nodeId, UserEvent userEvent)
    {
        var writer = new Writer();
        writer.Byte(Version);
        writer.Byte(UserEventKind);
        writer.String(nodeId);
        writer.String(userEvent.UserId);
        writer.String(userEvent.Target);
        writer.Bytes(userEvent.Payload.Utf8.Span);
        return writer.ToArray();
    }

    public static byte[] Encode(string nodeId, CacheInvalidation invalidation)
    {
        var writer = new Writer();
        writer.Byte(Version);
        writer.Byte(InvalidationKind);
        writer.String(nodeId);
        writer.String(invalidation.Cache);
        writer.String(invalidation.Key);
        return writer.ToArray();
    }

    /// <summary>Decodes a message: the node it came from and one of a batch, a user event or a cache invalidation.</summary>
    /// <exception cref="FormatException">Not a message of this version.</exception>
    public static (string NodeId, NotificationBatch? Batch, UserEvent? UserEvent, CacheInvalidation? Invalidation) Decode(ReadOnlyMemory<byte> message)
    {
        var reader = new Reader(message);
        if (reader.Byte() != Version)
        {
            throw new FormatException("Unknown bus message version.");
        }
        var kind = reader.Byte();
        var nodeId = reader.String() ?? throw new FormatException("A bus message without a node id.");
        switch (kind)
        {
            case BatchKind:
                var firstId = reader.Int64();
                var lastId = reader.Int64();
                var count = reader.Int32();
                if (count < 0 || count > lastId - firstId + 1)
                {
                    throw new FormatException("A batch with more items than ids.");
                }
                var items = new List<SequencedNotification>(count);
                for (var i = 0; i < count; i++)
                {
                    var id = reader.Int64();
                    var userId = reader.String();
                    var createdAt = new DateTime(reader.Int64(), DateTimeKind.Utc);
                    var expiresTicks = reader.Int64();
                    var json = reader.Bytes();
                    var replaced = reader.OptionalBytes();
                    items.Add(new SequencedNotification(id, userId, createdAt, expiresTicks == 0 ? null : new DateTime(expiresTicks, DateTimeKind.Utc), new RawJson(json),
                        replaced is { } deleted ? new RawJson(deleted) : null));
                }
                ReadTraces(ref reader, items);
                return (nodeId, new NotificationBatch(firstId, lastId, items), null, null);
            case UserEventKind:
                var user = reader.String() ?? throw new FormatException("A user event without a user.");
                var target = reader.String() ?? throw new FormatException("A user event without a target.");
                return (nodeId, null, new UserEvent(user, target, new RawJson(reader.Bytes())), null);
            case InvalidationKind:
                var cache = reader.String() ?? throw new FormatException("A cache invalidation without a cache.");
                var key = reader.String() ?? throw new FormatException("A cache invalidation without a key.");
                return (nodeId, null, null, new CacheInvalidation(cache, key));
            default:
                throw new FormatException($"Unknown bus message kind {kind}.");
        }
    }

    private sealed class Writer
    {
        private readonly MemoryStream _stream = new();

        public void Byte(byte value) => _stream.WriteByte(value);

        public void Int32(int value)
        {
            Span<byte> buffer = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(buffer, value);
            _stream.Write(buffer);
        }

        public void Int64(long value)
        {
            Span<byte> buffer = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(buffer, value);
            _stream.Write(buffer);
        }

        /// <summary>Length -1 stands for null.</summary>
        public void String(string? value)
        {
            if (value is null)
            {
                Int32(-1);
                return;
            }
            Bytes(Encoding.UTF8.GetBytes(value));
        }

        public void Bytes(ReadOnlySpan<byte> value)
        {
            Int32(value.Length);
            _stream.Write(value);
        }

        /// <summary>Length -1 stands for null.</summary>
        public void OptionalBytes(RawJson? value)
        {
            if (value is not null)
            {
                Bytes(value.Utf8.Span);
            }
            else
            {
                Int32(-1);
            }
        }

        public void Raw(ReadOnlySpan<byte> value) => _stream.Write(value);

        public byte[] ToArray() => _stream.ToArray();
    }

    private ref struct Reader(ReadOnlyMemory<byte> message)
    {
        private ReadOnlyMemory<byte> _rest = message;

        public byte Byte() => Take(1).Span[0];

        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4).Span);

        public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8).Span);

        public string? String()
        {
            var length = Int32();
            return length < 0 ? null : Encoding.UTF8.GetString(Take(length).Span);
        }

        public ReadOnlyMemory<byte> Bytes() => Take(Int32());

        public ReadOnlyMemory<byte>? OptionalBytes()
        {
            var length = Int32();
            if (length == -1)
            {
                return null; // not "cond ? null : memory": null would become an empty memory (byte[] converts implicitly)
            }
            return Take(length);
        }


        public readonly bool IsEmpty => _rest.IsEmpty;

        public ReadOnlyMemory<byte> Take(int length)
        {
            if (length < 0 || length > _rest.Length)
            {
                throw new FormatException("A truncated bus message.");
            }
            var taken = _rest[..length];
            _rest = _rest[length..];
            return taken;
        }
    }
}
