using System.Buffers;
using System.Text;
using Realtime.Server.Contracts;

namespace Realtime.Server.Live;

/// <summary>
/// A Server-Sent Events stream. Frames are written only by the connection's writer loop (one
/// writer per stream) and flushed one by one: <c>event:</c>, <c>id:</c> for notifications (the
/// cursor EventSource sends back as Last-Event-ID), <c>data:</c> with the JSON payload.
/// </summary>
internal sealed class SseLiveConnection(string id, string userId, HttpResponse response, CancellationTokenSource lifetime, LiveServices services)
    : LiveConnection(id, userId, SseTransportName, services)
{
    public const string SseTransportName = "sse";

    /// <summary>Sent first, at once: headers and the reconnect delay, before any event.</summary>
    public static readonly byte[] Preamble = "retry: 3000\n\n"u8.ToArray();

    private static readonly byte[] PingFrame = ": ping\n\n"u8.ToArray();
    private static readonly byte[] EventField = "event: "u8.ToArray();
    private static readonly byte[] IdField = "\nid: "u8.ToArray();
    private static readonly byte[] DataField = "\ndata: "u8.ToArray();
    private static readonly byte[] FrameEnd = "\n\n"u8.ToArray();

    protected override async ValueTask WriteAsync(string target, RawJson payload, long? id, CancellationToken cancellationToken)
    {
        var writer = response.BodyWriter;
        writer.Write(EventField);
        writer.Write(Encoding.UTF8.GetBytes(target));
        if (id is { } notificationId)
        {
            writer.Write(IdField);
            writer.Write(Encoding.UTF8.GetBytes(notificationId.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        WriteData(writer, payload.Utf8.Span);
        writer.Write(FrameEnd);
        await writer.FlushAsync(cancellationToken);
    }

    protected override async ValueTask WriteKeepAliveAsync(CancellationToken cancellationToken)
    {
        response.BodyWriter.Write(PingFrame);
        await response.BodyWriter.FlushAsync(cancellationToken);
    }

    public override void Close() => lifetime.Cancel();

    /// <summary>One <c>data:</c> line per line of payload (compact JSON has one; stay correct if not).</summary>
    private static void WriteData(IBufferWriter<byte> writer, ReadOnlySpan<byte> payload)
    {
        while (true)
        {
            writer.Write(DataField);
            var newline = payload.IndexOfAny((byte)'\n', (byte)'\r');
            if (newline < 0)
            {
                writer.Write(payload);
                return;
            }
            writer.Write(payload[..newline]);
            payload = payload[(newline + 1)..];
        }
    }
}
