using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Realtime.Server.Push;

/// <summary>
/// The body of one push: the plaintext encrypted for one subscriber with the aes128gcm content
/// coding (RFC 8188) as Web Push uses it (RFC 8291): a new P-256 key pair and a random salt per
/// message, ECDH with the subscriber's key, HKDF-SHA-256 mixed with the subscriber's auth secret,
/// AES-128-GCM over a single record. The key pair and ECDH through <see cref="OpenSslP256"/> where
/// OpenSSL 3 is the runtime's cryptography (a quarter of the CPU), else <see cref="ECDiffieHellman"/>;
/// everything else from <c>System.Security.Cryptography</c>, every key disposed.
/// </summary>
internal static class WebPushEncryption
{
    /// <summary>The record size written in the header: the 4,096 bytes push services accept (RFC 8291 §4).</summary>
    public const int RecordSize = 4096;

    public const int SaltLength = 16;
    public const int TagLength = 16;
    private const int PublicKeyLength = OpenSslP256.PublicKeyLength;
    private const int SecretLength = OpenSslP256.SecretLength;

    /// <summary>salt (16) | rs (uint32) | idlen (1) | keyid: the sender's public key (65).</summary>
    public const int HeaderLength = SaltLength + 4 + 1 + PublicKeyLength;

    /// <summary>The most plaintext one record carries: its padding delimiter and tag take the rest.</summary>
    public const int MaxPlaintextLength = RecordSize - HeaderLength - 1 - TagLength;

    private const byte LastRecordDelimiter = 2;

    private static ReadOnlySpan<byte> WebPushInfo => "WebPush: info\0"u8;
    private static ReadOnlySpan<byte> CekInfo => "Content-Encoding: aes128gcm\0"u8;
    private static ReadOnlySpan<byte> NonceInfo => "Content-Encoding: nonce\0"u8;

    /// <summary>The body for <paramref name="subscriber"/>: header, then one record with its tag.</summary>
    public static byte[] Encrypt(ReadOnlySpan<byte> plaintext, SubscriberKey subscriber)
    {
        Span<byte> salt = stackalloc byte[SaltLength];
        RandomNumberGenerator.Fill(salt);
        Span<byte> senderPublic = stackalloc byte[PublicKeyLength];
        Span<byte> secret = stackalloc byte[SecretLength];
        try
        {
            if (subscriber.Native is { } peer)
            {
                OpenSslP256.Agree(peer, senderPublic, secret);
            }
            else
            {
                using var ephemeral = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
                Agree(ephemeral, subscriber, senderPublic, secret);
            }
            return Encrypt(plaintext, subscriber, senderPublic, secret, salt);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    /// <summary>As <see cref="Encrypt(ReadOnlySpan{byte}, SubscriberKey)"/> with the sender's key pair and salt given (RFC 8291's worked example).</summary>
    public static byte[] Encrypt(ReadOnlySpan<byte> plaintext, SubscriberKey subscriber, ECDiffieHellman sender, ReadOnlySpan<byte> salt)
    {
        Span<byte> senderPublic = stackalloc byte[PublicKeyLength];
        Span<byte> secret = stackalloc byte[SecretLength];
        try
        {
            Agree(sender, subscriber, senderPublic, secret);
            return Encrypt(plaintext, subscriber, senderPublic, secret, salt);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    /// <summary>
    /// The body from the sender's public point and the ECDH secret it shares with the subscriber
    /// (however they were made), and the salt.
    /// </summary>
    public static byte[] Encrypt(ReadOnlySpan<byte> plaintext, SubscriberKey subscriber, ReadOnlySpan<byte> senderPublic, ReadOnlySpan<byte> ecdhSecret, ReadOnlySpan<byte> salt)
    {
        if (plaintext.Length > MaxPlaintextLength)
        {
            throw new ArgumentException($"A push carries at most {MaxPlaintextLength} bytes of plaintext.", nameof(plaintext));
        }
        if (salt.Length != SaltLength)
        {
            throw new ArgumentException($"The salt is {SaltLength} bytes.", nameof(salt));
        }
        if (senderPublic.Length != PublicKeyLength || ecdhSecret.Length != SecretLength)
        {
            throw new ArgumentException($"The sender's public key is {PublicKeyLength} bytes and the secret {SecretLength}.");
        }

        var body = new byte[HeaderLength + plaintext.Length + 1 + TagLength];
        salt.CopyTo(body);
        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(SaltLength), RecordSize);
        body[SaltLength + 4] = PublicKeyLength;
        senderPublic.CopyTo(body.AsSpan(SaltLength + 5, PublicKeyLength));

        Span<byte> cek = stackalloc byte[16];
        Span<byte> nonce = stackalloc byte[12];
        DeriveKeys(ecdhSecret, subscriber, senderPublic, salt, cek, nonce);

        // One record, the last: the plaintext, its delimiter, no padding (§2 of RFC 8188), encrypted in place.
        var record = body.AsSpan(HeaderLength, plaintext.Length + 1);
        plaintext.CopyTo(record);
        record[^1] = LastRecordDelimiter;
        using (var aes = new AesGcm(cek, TagLength))
        {
            aes.Encrypt(nonce, record, record, body.AsSpan(HeaderLength + record.Length, TagLength));
        }
        CryptographicOperations.ZeroMemory(cek);
        return body;
    }

    /// <summary>The sender's public point and the ECDH secret through <see cref="ECDiffieHellman"/>.</summary>
    private static void Agree(ECDiffieHellman sender, SubscriberKey subscriber, Span<byte> senderPublic, Span<byte> secret)
    {
        WritePoint(sender.ExportParameters(includePrivateParameters: false).Q, senderPublic);
        var derived = sender.DeriveRawSecretAgreement(subscriber.PublicKey);
        derived.CopyTo(secret);
        CryptographicOperations.ZeroMemory(derived);
    }

    /// <summary>RFC 8291 §3.3–3.4, then RFC 8188 §2.2–2.3: the content-encryption key and the nonce (of the first and only record).</summary>
    private static void DeriveKeys(ReadOnlySpan<byte> ecdhSecret, SubscriberKey subscriber, ReadOnlySpan<byte> senderPublic, ReadOnlySpan<byte> salt, Span<byte> cek, Span<byte> nonce)
    {
        Span<byte> prk = stackalloc byte[32];
        Span<byte> ikm = stackalloc byte[32];
        try
        {
            // PRK_key = HMAC-SHA-256(auth_secret, ecdh_secret); IKM = HKDF-Expand(PRK_key, "WebPush: info" || 0x00 || ua_public || as_public, 32)
            HKDF.Extract(HashAlgorithmName.SHA256, ecdhSecret, subscriber.AuthSecret, prk);
            Span<byte> keyInfo = stackalloc byte[WebPushInfo.Length + 2 * PublicKeyLength];
            WebPushInfo.CopyTo(keyInfo);
            subscriber.Point.CopyTo(keyInfo[WebPushInfo.Length..]);
            senderPublic.CopyTo(keyInfo[(WebPushInfo.Length + PublicKeyLength)..]);
            HKDF.Expand(HashAlgorithmName.SHA256, prk, ikm, keyInfo);

            // PRK = HMAC-SHA-256(salt, IKM); CEK and NONCE from it.
            HKDF.Extract(HashAlgorithmName.SHA256, ikm, salt, prk);
            HKDF.Expand(HashAlgorithmName.SHA256, prk, cek, CekInfo);
            HKDF.Expand(HashAlgorithmName.SHA256, prk, nonce, NonceInfo);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(prk);
            CryptographicOperations.ZeroMemory(ikm);
        }
    }

    private static void WritePoint(ECPoint q, Span<byte> destination)
    {
        destination[0] = 0x04;
        q.X.AsSpan().CopyTo(destination[1..]);
        q.Y.AsSpan().CopyTo(destination[33..]);
    }
}
