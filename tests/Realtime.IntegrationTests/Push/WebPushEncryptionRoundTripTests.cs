using System.Security.Cryptography;
using Realtime.Server.Push;

namespace Realtime.IntegrationTests.Push;

/// <summary>The server's encryption read back by the test's own RFC 8291 decoder, with fresh keys each time.</summary>
public sealed class WebPushEncryptionRoundTripTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(385)]
    [InlineData(WebPushEncryption.MaxPlaintextLength)]
    public void WhatTheServerEncryptsTheSubscriberDecrypts(int length)
    {
        using var browser = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var authSecret = RandomNumberGenerator.GetBytes(16);
        var plaintext = RandomNumberGenerator.GetBytes(length);
        using var cache = new SubscriberKeyCache();
        var key = cache.Get(Encode(Aes128GcmDecoder.UncompressedPoint(browser.ExportParameters(false).Q)), Encode(authSecret));

        var first = WebPushEncryption.Encrypt(plaintext, key);
        var second = WebPushEncryption.Encrypt(plaintext, key);

        Assert.Equal(plaintext, Aes128GcmDecoder.Decrypt(first, browser, authSecret));
        Assert.Equal(plaintext, Aes128GcmDecoder.Decrypt(second, browser, authSecret));
        Assert.NotEqual(first, second);
    }

    private static string Encode(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);
}
