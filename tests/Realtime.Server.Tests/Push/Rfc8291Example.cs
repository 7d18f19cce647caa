using System.Security.Cryptography;

namespace Realtime.Server.Tests.Push;

/// <summary>RFC 8291's worked example (§5 and Appendix A): its keys, salt and the body they give, and base64url helpers.</summary>
internal static class Rfc8291Example
{
    public const string Plaintext = "When I grow up, I want to be a watermelon";
    public const string AuthSecret = "BTBZMqHH6r4Tts7J_aSIgg";
    public const string UaPublic = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    public const string AsPublic = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
    public const string AsPrivate = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
    public const string Salt = "DGv6ra1nlYgDCS1FRnbzlw";
    public const string Body =
        "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

    /// <summary>The example's application-server (sender) key pair.</summary>
    public static ECDiffieHellman SenderKey()
    {
        var point = Decode(AsPublic);
        return ECDiffieHellman.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = point[1..33], Y = point[33..65] },
            D = Decode(AsPrivate),
        });
    }

    public static byte[] Decode(string base64Url) => System.Buffers.Text.Base64Url.DecodeFromChars(base64Url);

    public static string Encode(ReadOnlySpan<byte> bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);
}
