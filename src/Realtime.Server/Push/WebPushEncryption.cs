using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Realtime.Server.Push;

/// <summary>
/// The body of one push: the plaintext encrypted for one subscriber with the aes128gcm content
/// coding (RFC 8188) as Web Push uses it (RFC 8291): a new P-256 key pair and a random salt per
/// message, ECDH with the subscriber's key, HKDF-SHA-256 mixed with the subscriber's auth secret,
/// AES-128-GCM over a single record. Everything from <c>System.Security.Cryptography</c>, every key
/// disposed.
/// </summary>
internal static class WebPushEncryption
{
    /// <summary>The record size written in the header: the 4,096 bytes push services accept (RFC 8291 §4).</summary>
    public const int RecordSize = 4096;

    public const int SaltLength = 16;
    public const int TagLength = 16;
    private const int PublicKeyLength = 65;

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
        using var ephemeral = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        Span<byte> salt = stackalloc byte[SaltLength];
        RandomNumberGenerator.Fill(salt);
        return Encrypt(plaintext, subscriber, ephemeral, salt);
    }

    /// <summary>As <see cref="Encrypt(ReadOnlySpan{byte}, SubscriberKey)"/> with the sender's key pair and salt given (RFC 8291's worked example).</summary>
    public static byte[] Encrypt(ReadOnlySpan<byte> plaintext, SubscriberKey subscriber, ECDiffieHellman sender, ReadOnlySpan<byte> salt)
    {
        if (plaintext.Length > MaxPlaintextLength)
        {
            throw new ArgumentException($"A push carries at most {MaxPlaintextLength} bytes of plaintext.", nameof(plaintext));
        }
        if (salt.Length != SaltLength)
        {
            throw new ArgumentException($"The salt is {SaltLength} bytes.", nameof(salt));
        }

        var body = new byte[HeaderLength + plaintext.Length + 1 + TagLength];
        salt.CopyTo(body);
        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(SaltLength), RecordSize);
        body[SaltLength + 4] = PublicKeyLength;
        var senderPublic = body.AsSpan(SaltLength + 5, PublicKeyLength);
        WritePoint(sender.ExportParameters(includePrivateParameters: false).Q, senderPublic);

        Span<byte> cek = stackalloc byte[16];
        Span<byte> nonce = stackalloc byte[12];
        DeriveKeys(sender, subscriber, senderPublic, salt, cek, nonce);

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

    /// <summary>RFC 8291 §3.3–3.4, then RFC 8188 §2.2–2.3: the content-encryption key and the nonce (of the first and only record).</summary>
    private static void DeriveKeys(ECDiffieHellman sender, SubscriberKey subscriber, ReadOnlySpan<byte> senderPublic, ReadOnlySpan<byte> salt, Span<byte> cek, Span<byte> nonce)
    {
        var ecdhSecret = sender.DeriveRawSecretAgreement(subscriber.PublicKey);
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
            CryptographicOperations.ZeroMemory(ecdhSecret);
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
