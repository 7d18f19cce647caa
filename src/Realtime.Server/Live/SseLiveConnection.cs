using Realtime.Server.Contracts;

namespace Realtime.Server.Live;

/// <summary>
/// A Server-Sent Events stream. Frames are written only by the connection's writer loop (one
/// writer per stream) and flushed one by one: <c>event:</c>, <c>id:</c> for notifications (the
/// cursor EventSource sends back as Last-Event-ID), <c>data:</c> with the JSON payload. A live
/// notification's frame is made once per node (<see cref="NotificationFrames.Sse"/>).
/// </summary>
internal sealed class SseLiveConnection(string id, string userId, HttpResponse response, CancellationTokenSource lifetime, LiveServices services)
    : LiveConnection(id, userId, SseTransportName, services)
{
    public const string SseTransportName = "sse";

    /// <summary>Sent first, at once: headers and the reconnect delay, before any event.</summary>
    public static readonly byte[] Preamble = "retry: 3000\n\n"u8.ToArray();

    private static readonly byte[] PingFrame = ": ping\n\n"u8.ToArray();

    protected override ValueTask WriteAsync(string target, RawJson payload, long? id, CancellationToken cancellationToken) =>
        WriteFrameAsync(NotificationFrames.SseFrame(target, payload, id), cancellationToken);

    protected override ValueTask WriteNotificationAsync(NotificationFrames frames, CancellationToken cancellationToken) =>
        WriteFrameAsync(frames.Sse, cancellationToken);

    protected override ValueTask WriteEventAsync(EventFrames userEvent, CancellationToken cancellationToken) =>
        WriteFrameAsync(userEvent.Sse, cancellationToken);

    protected override ValueTask WriteKeepAliveAsync(CancellationToken cancellationToken) => WriteFrameAsync(PingFrame, cancellationToken);

    public override void Close() => lifetime.Cancel();

    private async ValueTask WriteFrameAsync(byte[] frame, CancellationToken cancellationToken) =>
        await response.BodyWriter.WriteAsync(frame, cancellationToken);
}
