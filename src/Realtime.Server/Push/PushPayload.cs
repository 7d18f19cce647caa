using System.Text;
using System.Text.Json;
using Realtime.Server.Contracts;
using Realtime.Server.Notifications;

namespace Realtime.Server.Push;

/// <summary>When the notification object is too large for a push: enough for the device to show it and fetch the rest.</summary>
internal sealed record ReducedPushPayload(long Id, string Title, string? Body, string? Link, string Category, string? CollapseKey, bool Reduced = true);

/// <summary>
/// The plaintext of a push: the notification object JSON (the same serializer as the API), or,
/// when that is over what one aes128gcm record of 4,096 bytes can carry, a reduced object.
/// </summary>
internal static class PushPayload
{
    /// <summary>
    /// RFC 8291: push services accept 4,096-byte bodies. The body is an 86-byte header (salt,
    /// record size, key id length, 65-byte key) plus one record: the plaintext, a 1-byte padding
    /// delimiter and a 16-byte tag.
    /// </summary>
    public const int MaxPlaintextBytes = WebPushEncryption.MaxPlaintextLength;

    private const string Ellipsis = "…";

    /// <summary>The payload to send; <paramref name="reduced"/> forces the reduced form (after a 413).</summary>
    public static (string Json, bool Reduced) Build(Notification notification, bool reduced)
    {
        if (!reduced)
        {
            var full = JsonSerializer.SerializeToUtf8Bytes(notification, RealtimeJsonContext.Default.Notification);
            if (full.Length <= MaxPlaintextBytes)
            {
                return (Encoding.UTF8.GetString(full), false);
            }
        }
        return (Reduce(notification), true);
    }

    private static string Reduce(Notification n)
    {
        var withoutBody = Serialize(new ReducedPushPayload(n.Id, n.Title, null, n.Link, n.Category, n.CollapseKey));
        if (Encoding.UTF8.GetByteCount(withoutBody) > MaxPlaintextBytes)
        {
            // Only an enormous link can do this (title and category are short): drop it.
            withoutBody = Serialize(new ReducedPushPayload(n.Id, n.Title, null, null, n.Category, n.CollapseKey));
            return n.Body is null ? withoutBody : Fit(new ReducedPushPayload(n.Id, n.Title, n.Body, null, n.Category, n.CollapseKey));
        }
        return n.Body is null ? withoutBody : Fit(new ReducedPushPayload(n.Id, n.Title, n.Body, n.Link, n.Category, n.CollapseKey));
    }

    /// <summary>The longest prefix of the body (whole characters, with an ellipsis) that fits.</summary>
    private static string Fit(ReducedPushPayload payload)
    {
        var body = payload.Body!;
        var whole = Serialize(payload);
        if (Encoding.UTF8.GetByteCount(whole) <= MaxPlaintextBytes)
        {
            return whole;
        }
        int low = 0, high = body.Length;
        var best = Serialize(payload with { Body = Ellipsis });
        while (low <= high)
        {
            var mid = (low + high) / 2;
            var cut = mid > 0 && char.IsHighSurrogate(body[mid - 1]) ? mid - 1 : mid;
            var candidate = Serialize(payload with { Body = body[..cut] + Ellipsis });
            if (Encoding.UTF8.GetByteCount(candidate) <= MaxPlaintextBytes)
            {
                best = candidate;
                low = mid + 1;
            }
            else
            {
                high = mid - 1;
            }
        }
        return best;
    }

    private static string Serialize(ReducedPushPayload payload) =>
        JsonSerializer.Serialize(payload, RealtimeJsonContext.Default.ReducedPushPayload);
}
