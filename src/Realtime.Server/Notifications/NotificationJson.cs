using System.Buffers.Text;
using System.Text.Json;
using Realtime.Server.Contracts;

namespace Realtime.Server.Notifications;

/// <summary>
/// A notification's JSON serialized once for all its recipients: everything but <c>id</c> and
/// <c>userId</c> (the first two properties, <see cref="Notification"/>'s order) is kept as bytes,
/// and each recipient's JSON is those two spliced in front of them, byte for byte what serializing
/// the recipient's <see cref="Notification"/> writes. A bulk send of 1,000 thus serializes its
/// body and data once, not 1,000 times.
/// </summary>
internal sealed class NotificationJson
{
    private static ReadOnlySpan<byte> Head => """{"id":0,"userId":null,"""u8;
    private static ReadOnlySpan<byte> IdProperty => """{"id":"""u8;
    private static ReadOnlySpan<byte> UserIdProperty => ""","userId":"""u8;
    private static ReadOnlySpan<byte> Null => "null"u8;

    /// <summary>From the comma after <c>userId</c>'s value to the end (<c>,"category":…}</c>).</summary>
    private readonly byte[] _rest;

    private NotificationJson(byte[] rest) => _rest = rest;

    /// <summary>The shared part of <paramref name="notification"/> (its id and userId are ignored).</summary>
    public static NotificationJson Of(Notification notification)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(notification with { Id = 0, UserId = null }, RealtimeJsonContext.Default.Notification);
        if (!json.AsSpan().StartsWith(Head))
        {
            throw new InvalidOperationException("A notification's JSON no longer starts with its id and userId.");
        }
        return new NotificationJson(json[(Head.Length - 1)..]);
    }

    /// <summary>The JSON of the notification <paramref name="id"/> for <paramref name="userId"/> (null: a broadcast).</summary>
    public RawJson For(long id, string? userId)
    {
        var user = userId is null ? Null : JsonEncodedText.Encode(userId).EncodedUtf8Bytes;
        var quotes = userId is null ? 0 : 2;
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(id, digits, out var digitCount);
        var json = new byte[IdProperty.Length + digitCount + UserIdProperty.Length + quotes + user.Length + _rest.Length];
        var to = Write(json, IdProperty);
        to = Write(to, digits[..digitCount]);
        to = Write(to, UserIdProperty);
        to = userId is null ? Write(to, user) : Write(Write(Write(to, "\""u8), user), "\""u8);
        Write(to, _rest);
        return new RawJson(json);
    }

    /// <summary>Copies <paramref name="part"/> to the start of <paramref name="to"/>; returns what follows it.</summary>
    private static Span<byte> Write(Span<byte> to, scoped ReadOnlySpan<byte> part)
    {
        part.CopyTo(to);
        return to[part.Length..];
    }
}
