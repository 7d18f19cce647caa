using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Realtime.Server.Bus;
using Realtime.Server.Contracts;

namespace Realtime.Server.Live;

/// <summary>
/// One notification as this node's connections are sent it: the hub invocation is serialized once
/// per hub protocol (SignalR's <see cref="SerializedHubMessage"/> keeps each protocol's bytes) and
/// the SSE frame once, on first use, then the same bytes go to every connection that gets it.
/// </summary>
internal sealed class NotificationFrames(SequencedNotification notification)
{
    private SerializedHubMessage? _hub;
    private byte[]? _sse;

    public SequencedNotification Notification { get; } = notification;

    /// <summary>The <c>notification</c> invocation, for every hub connection (any protocol).</summary>
    public SerializedHubMessage Hub =>
        Volatile.Read(ref _hub) ?? Interlocked.CompareExchange(ref _hub, HubInvocation(ClientTargets.Notification, Notification.Json), null) ?? _hub!;

    /// <summary>The whole SSE event (<c>event:</c>, <c>id:</c>, <c>data:</c>, blank line).</summary>
    public byte[] Sse =>
        Volatile.Read(ref _sse) ?? Interlocked.CompareExchange(ref _sse, SseFrame(ClientTargets.Notification, Notification.Json, Notification.Id), null) ?? _sse!;

    /// <summary>A hub invocation of <paramref name="target"/> with one pre-serialized JSON argument.</summary>
    public static SerializedHubMessage HubInvocation(string target, RawJson payload) =>
        new(new InvocationMessage(target, [payload]));

    private static readonly byte[] EventField = "event: "u8.ToArray();
    private static readonly byte[] IdField = "\nid: "u8.ToArray();
    private static readonly byte[] DataField = "\ndata: "u8.ToArray();
    private static readonly byte[] FrameEnd = "\n\n"u8.ToArray();

    /// <summary>
    /// An SSE event: <c>event:</c>, <c>id:</c> when <paramref name="id"/> is set (the cursor
    /// EventSource sends back as Last-Event-ID), one <c>data:</c> line per line of payload (compact
    /// JSON has one; stay correct if not), and the blank line that ends it.
    /// </summary>
    public static byte[] SseFrame(string target, RawJson payload, long? id)
    {
        using var buffer = new MemoryStream(payload.Utf8.Length + 64);
        buffer.Write(EventField);
        buffer.Write(Encoding.UTF8.GetBytes(target));
        if (id is { } notificationId)
        {
            buffer.Write(IdField);
            buffer.Write(Encoding.UTF8.GetBytes(notificationId.ToString(CultureInfo.InvariantCulture)));
        }
        var data = payload.Utf8.Span;
        while (true)
        {
            buffer.Write(DataField);
            var newline = data.IndexOfAny((byte)'\n', (byte)'\r');
            if (newline < 0)
            {
                buffer.Write(data);
                break;
            }
            buffer.Write(data[..newline]);
            data = data[(newline + 1)..];
        }
        buffer.Write(FrameEnd);
        return buffer.ToArray();
    }
}

/// <summary>
/// A per-user event (<c>unreadCount</c>, <c>notificationRead</c>, <c>notificationDeleted</c>) as
/// every connection that gets it is sent it: serialized once per hub protocol and once for SSE,
/// on first use (a broadcast's unread-count sweep sends the same count to many users).
/// </summary>
internal sealed class EventFrames(string target, RawJson payload)
{
    private SerializedHubMessage? _hub;
    private byte[]? _sse;

    public string Target { get; } = target;

    public RawJson Payload { get; } = payload;

    public SerializedHubMessage Hub =>
        Volatile.Read(ref _hub) ?? Interlocked.CompareExchange(ref _hub, NotificationFrames.HubInvocation(Target, Payload), null) ?? _hub!;

    public byte[] Sse =>
        Volatile.Read(ref _sse) ?? Interlocked.CompareExchange(ref _sse, NotificationFrames.SseFrame(Target, Payload, id: null), null) ?? _sse!;
}
