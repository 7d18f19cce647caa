using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;

namespace Realtime.Server.Push;

/// <summary>Web Push settings (<c>Push__*</c>): VAPID identity, which endpoints are allowed, and how hard to push.</summary>
internal sealed class PushOptions : IValidatableObject
{
    public const string SectionName = "Push";

    /// <summary>
    /// Used when <see cref="Subject"/> is unset. Push services want a way to reach the sender
    /// (Apple refuses tokens without <c>sub</c>); production sets its own address.
    /// </summary>
    public const string DefaultSubject = "mailto:admin@localhost";

    /// <summary>The VAPID <c>sub</c>: <c>mailto:</c> or <c>https://</c> contact of whoever runs this server.</summary>
    public string? Subject { get; set; }

    /// <summary>VAPID public key, base64url of the 65-byte uncompressed P-256 point (with <see cref="PrivateKey"/>, or neither).</summary>
    public string? PublicKey { get; set; }

    /// <summary>VAPID private key, base64url of the 32-byte scalar.</summary>
    public string? PrivateKey { get; set; }

    /// <summary>Accept <c>http://</c> and loopback/private push endpoints. Local testing only.</summary>
    public bool AllowInsecureEndpoints { get; set; }

    /// <summary>
    /// Comma-separated push-service host suffixes (e.g. <c>fcm.googleapis.com,push.services.mozilla.com</c>);
    /// a host matches itself and its subdomains. Unset: any public host.
    /// </summary>
    public string? AllowedHosts { get; set; }

    /// <summary>Subscriptions kept per user (a phone, a laptop, a few browsers); a new one beyond it replaces the least recently subscribed.</summary>
    [Range(1, 1_000)]
    public int MaxSubscriptionsPerUser { get; set; } = 20;

    /// <summary>Push requests in flight on this node, over all push services.</summary>
    [Range(1, 10_000)]
    public int MaxConcurrency { get; set; } = 64;

    /// <summary>Push requests in flight on this node to one push-service host (push services rate-limit per sender).</summary>
    [Range(1, 10_000)]
    public int MaxConcurrencyPerHost { get; set; } = 16;

    /// <summary>
    /// Seconds one push request may take (connect, TLS, answer). 30 s: push services answer in well
    /// under a second; anything slower is an outage, retried with backoff.
    /// </summary>
    [Range(1, 300)]
    public int RequestTimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// <c>TTL</c> of a notification without expiry, and how long its push is retried: 4 weeks, the
    /// most push services keep a message anyway.
    /// </summary>
    [Range(1, 31_536_000)]
    public int MaxTtlSeconds { get; set; } = 28 * 24 * 60 * 60;

    /// <summary>
    /// How old a notification must be before it is planned, so that presence records of
    /// connections opened just before it are written (the presence writer takes well under a second).
    /// </summary>
    [Range(0, 60_000)]
    public int PlanningDelayMilliseconds { get; set; } = 1_000;

    /// <summary>How often the planner and the workers look for work when nothing woke them (other nodes' jobs, retries).</summary>
    [Range(10, 60_000)]
    public int PollIntervalMilliseconds { get; set; } = 250;

    public TimeSpan RequestTimeout => TimeSpan.FromSeconds(RequestTimeoutSeconds);

    /// <summary>
    /// How long a claimed job is this node's: waiting for a per-host slot (at most one request
    /// timeout), the request (at most one more), and recording the answer. A node that dies holds
    /// its jobs this long; a live node never sends past it, so no other node sends the same job.
    /// </summary>
    public TimeSpan Lease => 2 * RequestTimeout + TimeSpan.FromSeconds(5);

    public TimeSpan PlanningDelay => TimeSpan.FromMilliseconds(PlanningDelayMilliseconds);

    public TimeSpan PollInterval => TimeSpan.FromMilliseconds(PollIntervalMilliseconds);

    /// <summary>
    /// The poll after <paramref name="idleRounds"/> rounds in a row that found nothing: the interval
    /// doubles each time, up to 8 times it (2 s by default), so an idle node does not wake its
    /// thread pool and PostgreSQL 8 times a second. Work this node makes itself wakes the planner
    /// and the worker at once; only other nodes' jobs and retries coming due wait for the poll.
    /// </summary>
    public TimeSpan IdlePoll(int idleRounds) => PollInterval * (1 << Math.Clamp(idleRounds, 0, 3));

    public string EffectiveSubject => string.IsNullOrWhiteSpace(Subject) ? DefaultSubject : Subject.Trim();

    /// <summary>The allow-list as lowercase suffixes without leading dots; empty when any public host is allowed.</summary>
    public IReadOnlyList<string> AllowedHostSuffixes =>
        (AllowedHosts ?? "").Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(h => h.TrimStart('.').TrimEnd('.').ToLowerInvariant())
            .Where(h => h.Length > 0)
            .ToList();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var subject = EffectiveSubject;
        if (!subject.StartsWith("mailto:", StringComparison.Ordinal) &&
            !(Uri.TryCreate(subject, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps))
        {
            yield return new ValidationResult("Push:Subject must be a mailto: or https:// URI.", [nameof(Subject)]);
        }
        var hasPublic = !string.IsNullOrWhiteSpace(PublicKey);
        var hasPrivate = !string.IsNullOrWhiteSpace(PrivateKey);
        if (hasPublic != hasPrivate)
        {
            yield return new ValidationResult("Push:PublicKey and Push:PrivateKey are set together, or neither (then a pair is generated and stored in PostgreSQL).",
                [nameof(PublicKey), nameof(PrivateKey)]);
        }
        else if (hasPublic && VapidKeys.Check(PublicKey!, PrivateKey!) is { } problem)
        {
            yield return new ValidationResult($"Push:PublicKey/Push:PrivateKey: {problem}", [nameof(PublicKey), nameof(PrivateKey)]);
        }
    }
}

/// <summary>A VAPID key pair in the base64url forms the contract and the browsers use.</summary>
internal sealed record VapidKeys(string PublicKey, string PrivateKey)
{
    public static VapidKeys Generate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var parameters = key.ExportParameters(includePrivateParameters: true);
        return new VapidKeys(Base64Url.Encode(UncompressedPoint(parameters.Q)), Base64Url.Encode(parameters.D!));
    }

    /// <summary>Why the pair is unusable (not base64url, wrong sizes, or a public key that is not the private key's), or null.</summary>
    public static string? Check(string publicKey, string privateKey)
    {
        if (!Base64Url.TryDecode(publicKey, out var publicBytes) || publicBytes.Length != 65 || publicBytes[0] != 0x04)
        {
            return "the public key must be the base64url of a 65-byte uncompressed P-256 point.";
        }
        if (!Base64Url.TryDecode(privateKey, out var privateBytes) || privateBytes.Length != 32)
        {
            return "the private key must be the base64url of a 32-byte P-256 scalar.";
        }
        try
        {
            using var key = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = privateBytes });
            var derived = UncompressedPoint(key.ExportParameters(false).Q);
            return derived.AsSpan().SequenceEqual(publicBytes) ? null : "the public key does not belong to the private key.";
        }
        catch (CryptographicException)
        {
            return "the private key is not a valid P-256 scalar.";
        }
    }

    public static byte[] UncompressedPoint(ECPoint q)
    {
        var point = new byte[65];
        point[0] = 0x04;
        q.X!.CopyTo(point, 1);
        q.Y!.CopyTo(point, 33);
        return point;
    }
}

/// <summary>base64url (RFC 4648 §5) as push subscriptions and VAPID use it: no padding written, padding tolerated on input.</summary>
internal static class Base64Url
{
    public static string Encode(ReadOnlySpan<byte> bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    public static bool TryDecode(string? text, out byte[] bytes)
    {
        bytes = [];
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }
        var trimmed = text.TrimEnd('=');
        if (trimmed.Length % 4 == 1 || trimmed.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
        {
            return false;
        }
        try
        {
            bytes = System.Buffers.Text.Base64Url.DecodeFromChars(trimmed);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
