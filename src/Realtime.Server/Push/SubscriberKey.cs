using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Realtime.Server.Push;

/// <summary>
/// A subscription's <c>p256dh</c> key imported (and validated) once, from its point, with its
/// <c>auth</c> secret: what <see cref="WebPushEncryption"/> needs per push. Where OpenSSL 3 is
/// used directly (<see cref="OpenSslP256"/>), its own copy of the key too.
/// </summary>
internal sealed class SubscriberKey : IDisposable
{
    private readonly byte[] _point;
    private readonly byte[] _authSecret;

    private SubscriberKey(ECDiffieHellmanPublicKey publicKey, OpenSslP256.Key? native, byte[] point, byte[] authSecret)
    {
        PublicKey = publicKey;
        Native = native;
        _point = point;
        _authSecret = authSecret;
    }

    public ECDiffieHellmanPublicKey PublicKey { get; }

    /// <summary>The same key for <see cref="OpenSslP256"/>; null where that is not used.</summary>
    public OpenSslP256.Key? Native { get; }

    /// <summary>The uncompressed point (65 bytes, 0x04 first), as the key derivation's info wants it.</summary>
    public ReadOnlySpan<byte> Point => _point;

    public ReadOnlySpan<byte> AuthSecret => _authSecret;

    /// <summary>
    /// The key of <c>keys.p256dh</c> and <c>keys.auth</c> (base64url); throws <see cref="CryptographicException"/>
    /// for one that is not a P-256 point and a 16-byte secret. <paramref name="openSsl"/> false: no
    /// <see cref="Native"/> copy, so the encryption goes through <see cref="ECDiffieHellman"/> (tests).
    /// </summary>
    public static SubscriberKey Import(string p256dh, string auth, bool openSsl = true)
    {
        if (!Base64Url.TryDecode(p256dh, out var point) || point.Length != 65 || point[0] != 0x04)
        {
            throw new CryptographicException("p256dh is not the base64url of an uncompressed P-256 point.");
        }
        if (!Base64Url.TryDecode(auth, out var secret) || secret.Length != 16)
        {
            throw new CryptographicException("auth is not the base64url of a 16-byte secret.");
        }
        // The import checks the point (on the curve, not the identity); the OpenSSL copy relies on that.
        using var holder = ECDiffieHellman.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = point[1..33], Y = point[33..65] },
        });
        var native = openSsl && OpenSslP256.IsSupported ? OpenSslP256.ImportPublicKey(holder.ExportSubjectPublicKeyInfo()) : null;
        return new SubscriberKey(holder.PublicKey, native, point, secret);
    }

    public void Dispose()
    {
        PublicKey.Dispose();
        Native?.Dispose();
    }
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
