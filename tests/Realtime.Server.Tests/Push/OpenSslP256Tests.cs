using System.Security.Cryptography;
using System.Text;
using Realtime.Server.Push;
using static Realtime.Server.Tests.Push.Rfc8291Example;

namespace Realtime.Server.Tests.Push;

/// <summary>The key agreement through OpenSSL 3 directly: the same secrets and bodies as the runtime's <see cref="ECDiffieHellman"/>.</summary>
public sealed class OpenSslP256Tests
{
    [Fact]
    public void OnLinuxTheServerAgreesThroughOpenSslAndImportsEverySubscriberKeyForIt()
    {
        Assert.Equal(OperatingSystem.IsLinux(), OpenSslP256.IsSupported);
        using var subscriber = SubscriberKey.Import(UaPublic, AuthSecret);
        Assert.Equal(OpenSslP256.IsSupported, subscriber.Native is not null);
        using var withoutOpenSsl = SubscriberKey.Import(UaPublic, AuthSecret, openSsl: false);
        Assert.Null(withoutOpenSsl.Native);
    }

    [Fact]
    public void TheRfc8291ExampleKeysAndSaltGiveThePublishedBodyThroughOpenSsl()
    {
        using var subscriber = SubscriberKey.Import(UaPublic, AuthSecret);
        using var runtimeSender = SenderKey();
        using var sender = OpenSslP256.ImportPrivateKey(runtimeSender.ExportPkcs8PrivateKey());
        Span<byte> senderPublic = stackalloc byte[OpenSslP256.PublicKeyLength];
        Span<byte> secret = stackalloc byte[OpenSslP256.SecretLength];

        OpenSslP256.Agree(sender, subscriber.Native!, senderPublic, secret);
        var body = WebPushEncryption.Encrypt(Encoding.UTF8.GetBytes(Plaintext), subscriber, senderPublic, secret, Decode(Salt));

        Assert.Equal(AsPublic, Encode(senderPublic));
        Assert.Equal(Body, Encode(body));
    }

    [Fact]
    public void ANewKeyPairPerMessageSharesTheSecretTheSubscriberDerives()
    {
        using var browser = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        using var peer = OpenSslP256.ImportPublicKey(browser.ExportSubjectPublicKeyInfo());
        var publics = new HashSet<string>();
        for (var i = 0; i < 3; i++)
        {
            var senderPublic = new byte[OpenSslP256.PublicKeyLength];
            var secret = new byte[OpenSslP256.SecretLength];
            OpenSslP256.Agree(peer, senderPublic, secret);

            using var sender = ECDiffieHellman.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = senderPublic[1..33], Y = senderPublic[33..] },
            });
            Assert.Equal(browser.DeriveRawSecretAgreement(sender.PublicKey), secret);
            Assert.True(publics.Add(Encode(senderPublic)));
        }
    }

    [Fact]
    public void DerThatIsNotAKeyIsRefusedWithoutLeavingErrorsForTheRuntime()
    {
        Assert.Throws<CryptographicException>(() => OpenSslP256.ImportPublicKey(new byte[] { 0x30, 0x03, 0x02, 0x01, 0x00 }));

        // The runtime's own OpenSSL calls on this thread still work (OpenSSL's error queue was emptied).
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        Assert.Equal(32, key.DeriveRawSecretAgreement(key.PublicKey).Length);
    }
}
