using System.Security.Cryptography;
using System.Text.Json;
using Lib.Net.Http.WebPush.Authentication;
using Realtime.Server.Push;

namespace Realtime.Server.Tests.Push;

/// <summary>VAPID tokens (RFC 8292) signed once per audience and reused until an hour before they expire.</summary>
public sealed class VapidTokenCacheTests : IDisposable
{
    private const string Audience = "https://push.example";

    private readonly ManualClock _clock = new(DateTimeOffset.UtcNow);
    private readonly VapidKeys _keys = VapidKeys.Generate();
    private readonly VapidAuthentication _authentication;

    public VapidTokenCacheTests() =>
        _authentication = new VapidAuthentication(_keys.PublicKey, _keys.PrivateKey) { Subject = "mailto:ops@example.com", TokenCache = new VapidTokenCache(_clock) };

    public void Dispose() => _authentication.Dispose();

    [Fact]
    public void OneTokenServesEveryPushToAnAudienceUntilAnHourBeforeItExpires()
    {
        var first = Token(Audience);
        Assert.Equal(first, Token(Audience));
        Assert.NotEqual(first, Token("https://other.push.example:8443"));

        var expires = DateTimeOffset.FromUnixTimeSeconds(Claims(first).GetProperty("exp").GetInt64());
        Assert.InRange(expires - _clock.GetUtcNow(), TimeSpan.FromHours(2), TimeSpan.FromHours(24)); // RFC 8292 §2: at most 24 hours

        _clock.Set(expires - TimeSpan.FromHours(1) - TimeSpan.FromMinutes(1));
        Assert.Equal(first, Token(Audience));

        _clock.Set(expires - TimeSpan.FromMinutes(59));
        var renewed = Token(Audience);
        Assert.NotEqual(first, renewed);
        Verify(renewed, Audience);
    }

    [Fact]
    public void TheTokenIsAnEs256JwtForItsAudienceThatThePublicKeyVerifies()
    {
        var token = Token("https://fcm.googleapis.com");

        Verify(token, "https://fcm.googleapis.com");
        Assert.Equal("mailto:ops@example.com", Claims(token).GetProperty("sub").GetString());
        var header = JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(token.Split('.')[0])).RootElement;
        Assert.Equal("ES256", header.GetProperty("alg").GetString());
    }

    /// <summary>The <c>t</c> of <c>vapid t=…, k=…</c>, whose <c>k</c> must be the public key.</summary>
    private string Token(string audience)
    {
        var parameters = _authentication.GetVapidSchemeAuthenticationHeaderValueParameter(audience)
            .Split(',', StringSplitOptions.TrimEntries)
            .Select(p => p.Split('=', 2))
            .ToDictionary(p => p[0], p => p[1]);
        Assert.Equal(_keys.PublicKey, parameters["k"]);
        return parameters["t"];
    }

    private void Verify(string token, string audience)
    {
        var parts = token.Split('.');
        var point = System.Buffers.Text.Base64Url.DecodeFromChars(_keys.PublicKey);
        using var key = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = point[1..33], Y = point[33..65] },
        });
        Assert.True(key.VerifyData(System.Text.Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]),
            System.Buffers.Text.Base64Url.DecodeFromChars(parts[2]), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
        Assert.Equal(audience, Claims(token).GetProperty("aud").GetString());
    }

    private static JsonElement Claims(string token) =>
        JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(token.Split('.')[1])).RootElement;

    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Set(DateTimeOffset now) => _now = now;
    }
}
