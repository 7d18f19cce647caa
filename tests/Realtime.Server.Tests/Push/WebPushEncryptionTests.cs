using System.Security.Cryptography;
using System.Text;
using Realtime.Server.Push;
using static Realtime.Server.Tests.Push.Rfc8291Example;

namespace Realtime.Server.Tests.Push;

/// <summary>The server's aes128gcm encryption against RFC 8291's worked example (§5 and Appendix A).</summary>
public sealed class WebPushEncryptionTests
{
    [Fact]
    public void TheRfc8291ExampleKeysAndSaltGiveThePublishedBody()
    {
        using var subscriber = SubscriberKey.Import(UaPublic, AuthSecret);
        using var sender = SenderKey();

        var body = WebPushEncryption.Encrypt(Encoding.UTF8.GetBytes(Plaintext), subscriber, sender, Decode(Salt));

        Assert.Equal(Body, Encode(body));
    }

    [Fact]
    public void EveryMessageHasItsOwnSenderKeyAndSalt()
    {
        using var subscriber = SubscriberKey.Import(UaPublic, AuthSecret);
        var first = WebPushEncryption.Encrypt("same"u8, subscriber);
        var second = WebPushEncryption.Encrypt("same"u8, subscriber);

        Assert.Equal(WebPushEncryption.HeaderLength + 4 + 1 + WebPushEncryption.TagLength, first.Length);
        Assert.NotEqual(Encode(first.AsSpan(0, 16)), Encode(second.AsSpan(0, 16)));
        Assert.NotEqual(Encode(first.AsSpan(21, 65)), Encode(second.AsSpan(21, 65)));
    }

    [Fact]
    public void APlaintextLargerThanOneRecordIsRefused()
    {
        using var subscriber = SubscriberKey.Import(UaPublic, AuthSecret);
        var fits = WebPushEncryption.Encrypt(new byte[WebPushEncryption.MaxPlaintextLength], subscriber);
        Assert.Equal(WebPushEncryption.RecordSize, fits.Length);
        Assert.Throws<ArgumentException>(() => WebPushEncryption.Encrypt(new byte[WebPushEncryption.MaxPlaintextLength + 1], subscriber));
    }

    [Theory]
    [InlineData("BCVxsr7N", AuthSecret)]
    [InlineData(UaPublic, "BTBZMqHH6r4Tts7J")]
    [InlineData("not base64url!", AuthSecret)]
    public void AKeyThatIsNotAP256PointAndA16ByteSecretIsRefused(string p256dh, string auth) =>
        Assert.ThrowsAny<CryptographicException>(() => SubscriberKey.Import(p256dh, auth));

    [Fact]
    public void APointOffTheCurveIsRefused()
    {
        var point = Decode(UaPublic);
        point[^1] ^= 1;
        Assert.ThrowsAny<CryptographicException>(() => SubscriberKey.Import(Encode(point), AuthSecret));
    }

    [Fact]
    public void TheCacheImportsASubscribersKeyOnceAndStartsOverWhenFull()
    {
        using var cache = new SubscriberKeyCache(maxEntries: 2);
        var first = cache.Get(UaPublic, AuthSecret);
        Assert.Same(first, cache.Get(UaPublic, AuthSecret));
        Assert.NotSame(first, cache.Get(UaPublic, Encode(new byte[16])));
        Assert.Equal(2, cache.Count);

        var third = cache.Get(UaPublic, Encode(new byte[16].Select(_ => (byte)1).ToArray()));
        Assert.Equal(1, cache.Count);
        Assert.Same(third, cache.Get(UaPublic, Encode(new byte[16].Select(_ => (byte)1).ToArray())));
        Assert.NotSame(first, cache.Get(UaPublic, AuthSecret));
    }
}
