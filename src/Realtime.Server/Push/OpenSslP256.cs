using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Realtime.Server.Push;

/// <summary>
/// P-256 key agreement for <see cref="WebPushEncryption"/> through OpenSSL 3's EVP API directly,
/// where the runtime's own cryptography is OpenSSL (Linux). Measured here: 85 µs of CPU per push
/// (a new key pair, its public point, the shared secret) against 350 µs through
/// <see cref="ECDiffieHellman"/>, which builds OpenSSL keys the legacy way on every call (a curve
/// group per key, each key converted for the provider again, the subscriber's key validated again
/// with a full scalar multiplication); that was half the server's CPU per push.
/// Everything else stays <c>System.Security.Cryptography</c>, and without OpenSSL 3 (or when the
/// start-up self-test disagrees with <see cref="ECDiffieHellman"/>) the encryption uses that.
/// Handles never cross between this code and the runtime's: each side creates and frees its own.
/// </summary>
internal static partial class OpenSslP256
{
    private const string LibCrypto = "libcrypto.so.3";

    /// <summary>Key generation contexts (one per concurrent caller; each keeps the curve chosen once). More than this are freed after use.</summary>
    private const int MaxPooledContexts = 64;

    public const int PublicKeyLength = 65;
    public const int SecretLength = 32;

    private static readonly Lazy<bool> Supported = new(SelfTest);
    private static readonly System.Collections.Concurrent.ConcurrentQueue<IntPtr> KeygenContexts = new();

    /// <summary>True when OpenSSL 3 is loaded and agrees with <see cref="ECDiffieHellman"/> (checked once).</summary>
    public static bool IsSupported => Supported.Value;

    /// <summary>An OpenSSL key (<c>EVP_PKEY</c>), freed when disposed or finalized.</summary>
    internal sealed class Key() : SafeHandleZeroOrMinusOneIsInvalid(ownsHandle: true)
    {
        protected override bool ReleaseHandle()
        {
            EVP_PKEY_free(handle);
            return true;
        }
    }

    /// <summary>
    /// The subscriber's public key from its SubjectPublicKeyInfo (DER). The key must already be
    /// validated (on the curve, not the identity): <see cref="Agree"/> does not check it again.
    /// </summary>
    public static Key ImportPublicKey(ReadOnlySpan<byte> subjectPublicKeyInfo) =>
        Import(subjectPublicKeyInfo, privateKey: false);

    /// <summary>A key pair from its PKCS#8 form (tests: the sender key of RFC 8291's example).</summary>
    public static Key ImportPrivateKey(ReadOnlySpan<byte> pkcs8) => Import(pkcs8, privateKey: true);

    /// <summary>
    /// A new key pair, its public point (uncompressed, 65 bytes) into <paramref name="senderPublic"/>
    /// and the ECDH secret with <paramref name="peer"/> (32 bytes) into <paramref name="secret"/>.
    /// </summary>
    public static void Agree(Key peer, Span<byte> senderPublic, Span<byte> secret)
    {
        var context = RentKeygenContext();
        IntPtr generated = IntPtr.Zero;
        try
        {
            Check(EVP_PKEY_generate(context, ref generated));
        }
        finally
        {
            ReturnKeygenContext(context);
        }
        using var own = new Key();
        Marshal.InitHandle(own, generated);
        Agree(own, peer, senderPublic, secret);
    }

    /// <summary>As <see cref="Agree(Key, Span{byte}, Span{byte})"/> with the sender's key pair given.</summary>
    public static void Agree(Key own, Key peer, Span<byte> senderPublic, Span<byte> secret)
    {
        if (senderPublic.Length != PublicKeyLength || secret.Length != SecretLength)
        {
            throw new ArgumentException($"The public key is {PublicKeyLength} bytes and the secret {SecretLength}.");
        }
        nuint length = 0;
        Check(EVP_PKEY_get_octet_string_param(own, "encoded-pub-key", senderPublic, (nuint)senderPublic.Length, ref length));
        if (length != PublicKeyLength || senderPublic[0] != 0x04)
        {
            throw new CryptographicException("OpenSSL did not give an uncompressed P-256 point.");
        }
        var context = EVP_PKEY_CTX_new_from_pkey(IntPtr.Zero, own, IntPtr.Zero);
        if (context == IntPtr.Zero)
        {
            throw Failure();
        }
        try
        {
            Check(EVP_PKEY_derive_init(context));
            // 0: the peer was validated once when it was imported, not again per message.
            Check(EVP_PKEY_derive_set_peer_ex(context, peer, 0));
            nuint written = (nuint)secret.Length;
            Check(EVP_PKEY_derive(context, secret, ref written));
            if (written != SecretLength)
            {
                throw new CryptographicException("OpenSSL gave a P-256 secret of an unexpected length.");
            }
        }
        finally
        {
            EVP_PKEY_CTX_free(context);
        }
    }

    private static unsafe Key Import(ReadOnlySpan<byte> der, bool privateKey)
    {
        var key = new Key();
        fixed (byte* start = der)
        {
            var cursor = start;
            var handle = privateKey ? d2i_AutoPrivateKey(IntPtr.Zero, &cursor, der.Length) : d2i_PUBKEY(IntPtr.Zero, &cursor, der.Length);
            if (handle == IntPtr.Zero)
            {
                key.Dispose();
                throw Failure();
            }
            Marshal.InitHandle(key, handle);
        }
        return key;
    }

    private static IntPtr RentKeygenContext()
    {
        if (KeygenContexts.TryDequeue(out var pooled))
        {
            return pooled;
        }
        var context = EVP_PKEY_CTX_new_from_name(IntPtr.Zero, "EC", IntPtr.Zero);
        if (context == IntPtr.Zero)
        {
            throw Failure();
        }
        if (EVP_PKEY_keygen_init(context) != 1 || EVP_PKEY_CTX_set_group_name(context, "P-256") != 1)
        {
            EVP_PKEY_CTX_free(context);
            throw Failure();
        }
        return context;
    }

    private static void ReturnKeygenContext(IntPtr context)
    {
        if (KeygenContexts.Count < MaxPooledContexts)
        {
            KeygenContexts.Enqueue(context);
        }
        else
        {
            EVP_PKEY_CTX_free(context);
        }
    }

    /// <summary>
    /// Loads OpenSSL 3 and checks it against the runtime: the secret it derives for a key pair of
    /// its own and one of <see cref="ECDiffieHellman"/> must be the one the runtime derives.
    /// </summary>
    private static bool SelfTest()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }
        try
        {
            using var runtime = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
            using var peer = ImportPublicKey(runtime.ExportSubjectPublicKeyInfo());
            Span<byte> senderPublic = stackalloc byte[PublicKeyLength];
            Span<byte> secret = stackalloc byte[SecretLength];
            Agree(peer, senderPublic, secret);
            using var sender = ECDiffieHellman.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = senderPublic[1..33].ToArray(), Y = senderPublic[33..].ToArray() },
            });
            var expected = runtime.DeriveRawSecretAgreement(sender.PublicKey);
            return secret.SequenceEqual(expected);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or CryptographicException)
        {
            return false;
        }
    }

    private static void Check(int result)
    {
        if (result != 1)
        {
            throw Failure();
        }
    }

    /// <summary>The error, with OpenSSL's queue on this thread emptied (the runtime reads that queue after its own calls).</summary>
    private static CryptographicException Failure()
    {
        var code = ERR_get_error();
        ERR_clear_error();
        return new CryptographicException($"OpenSSL P-256 operation failed (error 0x{code:x}).");
    }

    [LibraryImport(LibCrypto)]
    private static partial void EVP_PKEY_free(IntPtr key);

    [LibraryImport(LibCrypto, StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr EVP_PKEY_CTX_new_from_name(IntPtr libraryContext, string name, IntPtr properties);

    [LibraryImport(LibCrypto)]
    private static partial IntPtr EVP_PKEY_CTX_new_from_pkey(IntPtr libraryContext, Key key, IntPtr properties);

    [LibraryImport(LibCrypto)]
    private static partial void EVP_PKEY_CTX_free(IntPtr context);

    [LibraryImport(LibCrypto)]
    private static partial int EVP_PKEY_keygen_init(IntPtr context);

    [LibraryImport(LibCrypto, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int EVP_PKEY_CTX_set_group_name(IntPtr context, string name);

    [LibraryImport(LibCrypto)]
    private static partial int EVP_PKEY_generate(IntPtr context, ref IntPtr key);

    [LibraryImport(LibCrypto, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int EVP_PKEY_get_octet_string_param(Key key, string name, Span<byte> buffer, nuint size, ref nuint length);

    [LibraryImport(LibCrypto)]
    private static partial int EVP_PKEY_derive_init(IntPtr context);

    [LibraryImport(LibCrypto)]
    private static partial int EVP_PKEY_derive_set_peer_ex(IntPtr context, Key peer, int validatePeer);

    [LibraryImport(LibCrypto)]
    private static partial int EVP_PKEY_derive(IntPtr context, Span<byte> secret, ref nuint length);

    [LibraryImport(LibCrypto)]
    private static unsafe partial IntPtr d2i_PUBKEY(IntPtr reuse, byte** cursor, long length);

    [LibraryImport(LibCrypto)]
    private static unsafe partial IntPtr d2i_AutoPrivateKey(IntPtr reuse, byte** cursor, long length);

    [LibraryImport(LibCrypto)]
    private static partial ulong ERR_get_error();

    [LibraryImport(LibCrypto)]
    private static partial void ERR_clear_error();
}
