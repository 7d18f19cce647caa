using System.Security.Cryptography;
using System.Text;

namespace Realtime.IntegrationTests.Push;

/// <summary>The test's own decoder against RFC 8291 §5 (and Appendix A): the worked example decrypts to its plaintext.</summary>
public sealed class Aes128GcmDecoderTests
{
    private const string Plaintext = "When I grow up, I want to be a watermelon";
    private const string AuthSecret = "BTBZMqHH6r4Tts7J_aSIgg";
    private const string UaPublic = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    private const string UaPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
    private const string Body =
        "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

    [Fact]
    public void TheRfc8291WorkedExampleDecryptsToItsPlaintext()
    {
        using var userAgent = UserAgentKey();
        var plaintext = Aes128GcmDecoder.Decrypt(Decode(Body), userAgent, Decode(AuthSecret));
        Assert.Equal(Plaintext, Encoding.UTF8.GetString(plaintext));
    }

    [Fact]
    public void AFlippedCiphertextBitOrAWrongAuthSecretIsRejected()
    {
        using var userAgent = UserAgentKey();
        var body = Decode(Body);
        body[^1] ^= 1;
        Assert.ThrowsAny<CryptographicException>(() => Aes128GcmDecoder.Decrypt(body, userAgent, Decode(AuthSecret)));
        var wrongSecret = Decode(AuthSecret);
        wrongSecret[0] ^= 1;
        Assert.ThrowsAny<CryptographicException>(() => Aes128GcmDecoder.Decrypt(Decode(Body), userAgent, wrongSecret));
    }

    private static ECDiffieHellman UserAgentKey()
    {
        var point = Decode(UaPublic);
        return ECDiffieHellman.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = point[1..33], Y = point[33..65] },
            D = Decode(UaPrivate),
        });
    }

    private static byte[] Decode(string base64Url) => System.Buffers.Text.Base64Url.DecodeFromChars(base64Url);
}
