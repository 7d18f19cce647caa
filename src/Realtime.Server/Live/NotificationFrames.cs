using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Realtime.Server.Bus;
using Realtime.Server.Contracts;

namespace Realtime.Server.Live;

/// <summary>
/// One notification, or a run of consecutive broadcasts, as this node's connections are sent it:
/// the hub invocation is serialized once per hub protocol (SignalR's <see cref="SerializedHubMessage"/>
/// keeps each protocol's bytes) and the SSE frame once, on first use, then the same bytes go to every
/// connection that gets it. A run is its notifications' frames back to back, so a connection gets
/// the whole run in one write and one flush (one WebSocket frame, one socket send) instead of one
/// per notification: the dispatcher makes runs of the broadcasts that queued up while it was busy,
/// so the further it falls behind, the less each delivery costs.
/// </summary>
internal sealed class NotificationFrames
{
    private readonly NotificationFrames[]? _run;
    private SerializedHubMessage? _hub;
    private byte[]? _sse;
    private RunMessage[] _hubRuns = [];

    public NotificationFrames(SequencedNotification notification)
    {
        Notification = notification;
        Size = notification.Json.Utf8.Length;
    }

    private NotificationFrames(NotificationFrames[] run)
    {
        _run = run;
        Notification = run[^1].Notification;
        foreach (var part in run)
        {
            Size += part.Size;
        }
    }

    /// <summary>The frames of <paramref name="notifications"/> (in id order) as one write.</summary>
    public static NotificationFrames Run(IReadOnlyList<NotificationFrames> notifications) =>
        notifications.Count == 1 ? notifications[0] : new NotificationFrames([.. notifications]);

    /// <summary>The notification; for a run, its last (the highest id).</summary>
    public SequencedNotification Notification { get; }

    /// <summary>How many notifications these frames carry (more than one for a run).</summary>
    public int Count => _run?.Length ?? 1;

    /// <summary>The frames of one notification of a run, in id order (the notification itself when not a run).</summary>
    public NotificationFrames this[int index] => _run is null ? this : _run[index];

    /// <summary>Payload bytes, for the connection queue's byte bound.</summary>
    public long Size { get; }

    /// <summary>The <c>notification</c> invocation(s), for a hub connection speaking <paramref name="protocol"/>.</summary>
    public SerializedHubMessage HubFor(IHubProtocol protocol) => _run is null ? Hub : RunHub(protocol);

    /// <summary>The whole SSE event(s) (<c>event:</c>, <c>id:</c>, <c>data:</c>, blank line).</summary>
    public byte[] Sse =>
        Volatile.Read(ref _sse) ?? Interlocked.CompareExchange(ref _sse, _run is null ? SseFrame(ClientTargets.Notification, Notification.Json, Notification.Id) : RunSse(), null) ?? _sse!;

    private SerializedHubMessage Hub =>
        Volatile.Read(ref _hub) ?? Interlocked.CompareExchange(ref _hub, HubInvocation(ClientTargets.Notification, Notification.Json), null) ?? _hub!;

    /// <summary>
    /// The run's invocations back to back in <paramref name="protocol"/> (both SignalR protocols
    /// delimit their messages, so the client reads them one by one), made once per protocol.
    /// </summary>
    private SerializedHubMessage RunHub(IHubProtocol protocol)
    {
        foreach (var made in Volatile.Read(ref _hubRuns))
        {
            if (made.Protocol == protocol.Name)
            {
                return made.Message;
            }
        }
        var parts = new ReadOnlyMemory<byte>[_run!.Length];
        var length = 0;
        for (var i = 0; i < parts.Length; i++)
        {
            parts[i] = _run[i].Hub.GetSerializedMessage(protocol);
            length += parts[i].Length;
        }
        var bytes = new byte[length];
        var offset = 0;
        foreach (var part in parts)
        {
            part.Span.CopyTo(bytes.AsSpan(offset));
            offset += part.Length;
        }
        var message = new SerializedHubMessage([new SerializedMessage(protocol.Name, bytes)]);
        while (true)
        {
            var current = Volatile.Read(ref _hubRuns);
            if (Interlocked.CompareExchange(ref _hubRuns, [.. current, new RunMessage(protocol.Name, message)], current) == current)
            {
                return message;
            }
        }
    }

    private byte[] RunSse()
    {
        var frames = _run!.Select(part => part.Sse).ToArray();
        var bytes = new byte[frames.Sum(frame => frame.Length)];
        var offset = 0;
        foreach (var frame in frames)
        {
            frame.CopyTo(bytes, offset);
            offset += frame.Length;
        }
        return bytes;
    }

    private sealed record RunMessage(string Protocol, SerializedHubMessage Message);

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
