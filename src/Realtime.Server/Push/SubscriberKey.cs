using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Realtime.Server.Push;

/// <summary>
/// A subscription's <c>p256dh</c> key imported once (from its point, no PEM, no key generated to
/// hold it) and its <c>auth</c> secret: what <see cref="WebPushEncryption"/> needs per push.
/// </summary>
internal sealed class SubscriberKey : IDisposable
{
    private readonly byte[] _point;
    private readonly byte[] _authSecret;

    private SubscriberKey(ECDiffieHellmanPublicKey publicKey, byte[] point, byte[] authSecret)
    {
        PublicKey = publicKey;
        _point = point;
        _authSecret = authSecret;
    }

    public ECDiffieHellmanPublicKey PublicKey { get; }

    /// <summary>The uncompressed point (65 bytes, 0x04 first), as the key derivation's info wants it.</summary>
    public ReadOnlySpan<byte> Point => _point;

    public ReadOnlySpan<byte> AuthSecret => _authSecret;

    /// <summary>The key of <c>keys.p256dh</c> and <c>keys.auth</c> (base64url); throws <see cref="CryptographicException"/> for one that is not a P-256 point and a 16-byte secret.</summary>
    public static SubscriberKey Import(string p256dh, string auth)
    {
        if (!Base64Url.TryDecode(p256dh, out var point) || point.Length != 65 || point[0] != 0x04)
        {
            throw new CryptographicException("p256dh is not the base64url of an uncompressed P-256 point.");
        }
        if (!Base64Url.TryDecode(auth, out var secret) || secret.Length != 16)
        {
            throw new CryptographicException("auth is not the base64url of a 16-byte secret.");
        }
        using var holder = ECDiffieHellman.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = point[1..33], Y = point[33..65] },
        });
        return new SubscriberKey(holder.PublicKey, point, secret);
    }

    public void Dispose() => PublicKey.Dispose();
}

/// <summary>
/// Subscribers' imported keys, reused across their pushes. Bounded: when full it starts over, and
/// the entries it drops are left to the finalizer rather than disposed, since a send may be using
/// one at that moment (at most once per <see cref="MaxEntries"/> subscribers).
/// </summary>
internal sealed class SubscriberKeyCache(int maxEntries = SubscriberKeyCache.MaxEntries) : IDisposable
{
    /// <summary>~1 KB each (the key handle and two small arrays): 10 MB at most.</summary>
    public const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<(string P256dh, string Auth), SubscriberKey> _keys = new();

    public int Count => _keys.Count;

    public SubscriberKey Get(string p256dh, string auth)
    {
        if (_keys.TryGetValue((p256dh, auth), out var cached))
        {
            return cached;
        }
        if (_keys.Count >= maxEntries)
        {
            _keys.Clear();
        }
        var imported = SubscriberKey.Import(p256dh, auth);
        var winner = _keys.GetOrAdd((p256dh, auth), imported);
        if (!ReferenceEquals(winner, imported))
        {
            imported.Dispose(); // another send imported it first
        }
        return winner;
    }

    public void Dispose()
    {
        foreach (var key in _keys.Values)
        {
            key.Dispose();
        }
        _keys.Clear();
    }
}
