using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Realtime.IntegrationTests.Push;

/// <summary>
/// Decrypts a Web Push message body, written from RFC 8188 (the aes128gcm content coding) and
/// RFC 8291 (its use for Web Push), independently of the server's library: the test's own check
/// that what the server sends is what a browser would decrypt.
/// </summary>
public static class Aes128GcmDecoder
{
    private const int TagLength = 16;
    private const int HeaderFixedLength = 16 + 4 + 1; // salt, rs, idlen
    private static readonly byte[] WebPushInfo = Encoding.ASCII.GetBytes("WebPush: info\0");
    private static readonly byte[] CekInfo = Encoding.ASCII.GetBytes("Content-Encoding: aes128gcm\0");
    private static readonly byte[] NonceInfo = Encoding.ASCII.GetBytes("Content-Encoding: nonce\0");

    /// <summary>
    /// The plaintext of <paramref name="body"/> for the user agent whose P-256 key is
    /// <paramref name="userAgentKey"/> (private part included) and whose auth secret is
    /// <paramref name="authSecret"/>. Throws <see cref="CryptographicException"/> for anything malformed.
    /// </summary>
    public static byte[] Decrypt(ReadOnlySpan<byte> body, ECDiffieHellman userAgentKey, ReadOnlySpan<byte> authSecret)
    {
        // RFC 8188 §2.1: salt (16) | rs (uint32) | idlen (1) | keyid (idlen) | records
        if (body.Length < HeaderFixedLength)
        {
            throw new CryptographicException("The body is shorter than the aes128gcm header.");
        }
        var salt = body[..16].ToArray();
        var recordSize = BinaryPrimitives.ReadUInt32BigEndian(body[16..20]);
        var idLength = body[20];
        if (recordSize < 18 || body.Length < HeaderFixedLength + idLength)
        {
            throw new CryptographicException("Bad record size or key id length.");
        }
        // RFC 8291 §4: the key id is the application server's ephemeral public key (65 bytes).
        var asPublic = body.Slice(HeaderFixedLength, idLength).ToArray();
        if (asPublic.Length != 65 || asPublic[0] != 0x04)
        {
            throw new CryptographicException("The key id is not an uncompressed P-256 point.");
        }
        var records = body[(HeaderFixedLength + idLength)..];

        // RFC 8291 §3.3 and §3.4
        using var sender = ECDiffieHellman.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = asPublic[1..33], Y = asPublic[33..65] },
        });
        var ecdhSecret = userAgentKey.DeriveRawSecretAgreement(sender.PublicKey);
        var uaPublic = UncompressedPoint(userAgentKey.ExportParameters(false).Q);
        var prkKey = HMACSHA256.HashData(authSecret, ecdhSecret);
        var ikm = Expand(prkKey, [.. WebPushInfo, .. uaPublic, .. asPublic], 32);

        // RFC 8188 §2.2 and §2.3
        var prk = HMACSHA256.HashData(salt, ikm);
        var cek = Expand(prk, CekInfo, 16);
        var nonce = Expand(prk, NonceInfo, 12);

        using var aes = new AesGcm(cek, TagLength);
        var plaintext = new List<byte>();
        var sequence = 0UL;
        for (var offset = 0; offset < records.Length; sequence++)
        {
            var length = (int)Math.Min(recordSize, (uint)(records.Length - offset));
            var record = records.Slice(offset, length);
            offset += length;
            var last = offset >= records.Length;
            if (record.Length < TagLength + 1)
            {
                throw new CryptographicException("A record is shorter than its tag.");
            }
            var recordNonce = nonce.ToArray();
            for (var i = 0; i < 8; i++)
            {
                recordNonce[11 - i] ^= (byte)(sequence >> (8 * i)); // nonce XOR the sequence number (§2.3)
            }
            var output = new byte[record.Length - TagLength];
            aes.Decrypt(recordNonce, record[..^TagLength], record[^TagLength..], output);

            // §2: data, a delimiter (2 in the last record, 1 before it), then zero padding.
            var end = output.Length - 1;
            while (end >= 0 && output[end] == 0)
            {
                end--;
            }
            if (end < 0 || output[end] != (last ? 2 : 1))
            {
                throw new CryptographicException("Bad padding delimiter.");
            }
            plaintext.AddRange(output[..end]);
        }
        return plaintext.ToArray();
    }

    /// <summary>HKDF-Expand (RFC 5869) for one block: HMAC-SHA-256(prk, info || 0x01), truncated.</summary>
    private static byte[] Expand(byte[] prk, byte[] info, int length) =>
        HMACSHA256.HashData(prk, (byte[])[.. info, 0x01])[..length];

    public static byte[] UncompressedPoint(ECPoint q) => [0x04, .. q.X!, .. q.Y!];
}
