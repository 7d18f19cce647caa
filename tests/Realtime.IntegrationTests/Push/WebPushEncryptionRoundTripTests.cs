using System.Security.Cryptography;
using Realtime.Server.Push;

namespace Realtime.IntegrationTests.Push;

/// <summary>The server's encryption read back by the test's own RFC 8291 decoder, with fresh keys each time.</summary>
public sealed class WebPushEncryptionRoundTripTests
{
    [Theory]
    [InlineData(0, true)]
    [InlineData(1, true)]
    [InlineData(385, true)]
    [InlineData(WebPushEncryption.MaxPlaintextLength, true)]
    [InlineData(385, false)]
    [InlineData(WebPushEncryption.MaxPlaintextLength, false)]
    public void WhatTheServerEncryptsTheSubscriberDecrypts(int length, bool openSsl)
    {
        using var browser = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var authSecret = RandomNumberGenerator.GetBytes(16);
        var plaintext = RandomNumberGenerator.GetBytes(length);
        // With OpenSSL directly (the server's path on Linux) and through ECDiffieHellman (elsewhere).
        using var key = SubscriberKey.Import(Encode(Aes128GcmDecoder.UncompressedPoint(browser.ExportParameters(false).Q)), Encode(authSecret), openSsl);
        Assert.Equal(openSsl, key.Native is not null);

        var first = WebPushEncryption.Encrypt(plaintext, key);
        var second = WebPushEncryption.Encrypt(plaintext, key);

        Assert.Equal(plaintext, Aes128GcmDecoder.Decrypt(first, browser, authSecret));
        Assert.Equal(plaintext, Aes128GcmDecoder.Decrypt(second, browser, authSecret));
        Assert.NotEqual(first, second);
    }

    private static string Encode(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);
}
