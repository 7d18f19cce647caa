using System.Security.Cryptography;
using System.Text.Json;

namespace Realtime.Server.Push;

/// <summary>
/// Reads and checks the body of <c>POST /api/push/subscriptions</c> (the browser's
/// <c>PushSubscription.toJSON()</c>), naming the field at fault: <c>endpoint</c> an absolute
/// https URL the server may contact, <c>keys.p256dh</c> an uncompressed P-256 point on the curve,
/// <c>keys.auth</c> 16 bytes, <c>expirationTime</c> null or epoch milliseconds.
/// </summary>
internal static class SubscriptionRequest
{
    public const int AuthSecretLength = 16;
    public const int MaxKeyTextLength = 256;

    /// <summary>Latest accepted <c>expirationTime</c> (year 9999) in epoch milliseconds.</summary>
    private const double MaxEpochMilliseconds = 253_402_300_799_999;

    public static (PushSubscriptionInput? Subscription, Dictionary<string, string[]> Errors) Parse(ReadOnlySpan<byte> json, EndpointGuard guard)
    {
        var errors = new Dictionary<string, string[]>();
        void Fail(string field, string message) => errors.TryAdd(field, [message]);

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException)
        {
            Fail("request", "The body is not valid JSON.");
            return (null, errors);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                Fail("request", "The body must be a JSON object: the browser's PushSubscription.toJSON().");
                return (null, errors);
            }

            string? endpoint = null;
            if (!root.TryGetProperty("endpoint", out var endpointElement) || !TryGetText(endpointElement, out endpoint))
            {
                Fail("endpoint", "endpoint is required: the push service URL of the subscription (valid Unicode text).");
            }
            else
            {
                if (endpoint.Contains('\0'))
                {
                    Fail("endpoint", "endpoint must not contain NUL characters.");
                }
                else if (guard.CheckEndpoint(endpoint) is { } refused)
                {
                    Fail("endpoint", refused);
                }
            }

            DateTime? expiresAt = null;
            if (root.TryGetProperty("expirationTime", out var expiration) && expiration.ValueKind != JsonValueKind.Null)
            {
                if (expiration.ValueKind == JsonValueKind.Number && expiration.TryGetDouble(out var ms) && ms is >= 0 and <= MaxEpochMilliseconds)
                {
                    expiresAt = DateTime.UnixEpoch.AddMilliseconds(Math.Floor(ms));
                }
                else
                {
                    Fail("expirationTime", "expirationTime must be null or a time in epoch milliseconds.");
                }
            }

            string? p256dh = null, auth = null;
            if (!root.TryGetProperty("keys", out var keys) || keys.ValueKind != JsonValueKind.Object)
            {
                Fail("keys", "keys is required: an object with p256dh and auth.");
            }
            else
            {
                p256dh = ReadKey(keys, "p256dh", Fail);
                if (p256dh is not null && CheckP256dh(p256dh) is { } badKey)
                {
                    Fail("keys.p256dh", badKey);
                }
                auth = ReadKey(keys, "auth", Fail);
                if (auth is not null && (!Base64Url.TryDecode(auth, out var secret) || secret.Length != AuthSecretLength))
                {
                    Fail("keys.auth", $"keys.auth must be the base64url of a {AuthSecretLength}-byte secret.");
                }
            }

            return errors.Count > 0
                ? (null, errors)
                : (new PushSubscriptionInput(endpoint!, expiresAt, p256dh!.TrimEnd('='), auth!.TrimEnd('=')), errors);
        }
    }

    private static string? ReadKey(JsonElement keys, string name, Action<string, string> fail)
    {
        if (!keys.TryGetProperty(name, out var value) || !TryGetText(value, out var text))
        {
            fail("keys." + name, $"keys.{name} is required (a base64url string).");
            return null;
        }
        if (text.Length > MaxKeyTextLength)
        {
            fail("keys." + name, $"keys.{name} is too long.");
            return null;
        }
        return text;
    }

    /// <summary>A JSON string as .NET text; false for other kinds and for strings that are not valid Unicode (a lone surrogate escape).</summary>
    private static bool TryGetText(JsonElement element, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? text)
    {
        text = null;
        if (element.ValueKind != JsonValueKind.String)
        {
            return false;
        }
        try
        {
            text = element.GetString()!;
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Why this is not the base64url of an uncompressed P-256 point on the curve, or null.</summary>
    public static string? CheckP256dh(string text)
    {
        const string Message = "keys.p256dh must be the base64url of an uncompressed P-256 public key (65 bytes, 0x04 first) on the curve.";
        if (!Base64Url.TryDecode(text, out var point) || point.Length != 65 || point[0] != 0x04)
        {
            return Message;
        }
        try
        {
            // The import checks that the point is on the curve (and not the point at infinity).
            using var key = ECDiffieHellman.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = point[1..33], Y = point[33..65] },
            });
            return null;
        }
        catch (CryptographicException)
        {
            return Message;
        }
    }
}
