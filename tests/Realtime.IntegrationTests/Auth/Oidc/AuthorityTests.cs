using System.Net;
using System.Text.Json;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;

namespace Realtime.IntegrationTests.Auth.Oidc;

/// <summary>
/// The bearer-token specification on a node configured with <c>Auth:Authority</c> only (API.md
/// "Configuration", "Identity"): RS256 and ES256 tokens signed with the keys of the authority's JWKS,
/// <c>aud</c> = <c>Auth:Audience</c>, <c>iss</c> = the issuer of the authority's metadata.
/// </summary>
public sealed class AuthorityTests(AuthorityFixture fixture) : BearerTokenSpecification<AuthorityTests>, IRejectedTokenKinds, IClassFixture<AuthorityFixture>
{
    public static IEnumerable<string> RejectedKinds =>
    [
        "for another audience",
        "signed with another RSA key under the published kid",
        "signed with another EC key under the published kid",
        "from an issuer other than the metadata's",
        "expired 60 s ago",
        "not valid for another 2 minutes",
        "without sub",
        "HS256 with the default test key, which this node does not have",
        "unsigned (alg none) with the authority's issuer",
    ];

    protected override RealtimeServer Server => fixture.Server;

    private FakeIdentityProvider Provider => fixture.Provider;

    protected override string Mint(string subject, string? scope = null, DateTime? expires = null, IDictionary<string, object>? extraClaims = null) =>
        Provider.Mint(subject, scope: scope, expires: expires, extraClaims: extraClaims);

    protected override string RejectedToken(string kind, string? scope = null) => kind switch
    {
        "for another audience" => Provider.Mint("alice", scope: scope, audienceOverride: "someone-else"),
        "signed with another RSA key under the published kid" => Provider.Mint("alice", Provider.NewImpostorRsaKey(), scope),
        "signed with another EC key under the published kid" => Provider.Mint("alice", Provider.NewImpostorEcKey(), scope),
        "from an issuer other than the metadata's" => Provider.Mint("alice", scope: scope, issuerOverride: "https://issuer.example"),
        "expired 60 s ago" => Provider.Mint("alice", scope: scope, expires: DateTime.UtcNow.AddSeconds(-60)),
        "not valid for another 2 minutes" => Provider.Mint("alice", scope: scope, notBefore: DateTime.UtcNow.AddMinutes(2)),
        "without sub" => Provider.Mint(null, scope: scope),
        "HS256 with the default test key, which this node does not have" => TestTokens.Default.Mint("alice", scope),
        "unsigned (alg none) with the authority's issuer" => new TestTokens(TestTokens.DefaultSigningKey, Provider.Issuer, TestTokens.DefaultAudience).Unsigned("alice"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    [Fact]
    public async Task AnEs256TokenFromTheAuthorityReadsTheInboxAndConnectsToTheHub()
    {
        var user = SendApi.NewUserId();
        using var client = Server.CreateApiClient(Provider.Mint(user, Provider.EcKey));
        await AssertInboxAsync(await client.GetAsync(SendApi.Path));
        await using var hub = await Server.ConnectHubAsync(Provider.Mint(user, Provider.EcKey));
        Assert.Equal(0, (await hub.InvokeAsync("Resume", 0)).GetInt32());
    }

    [Fact]
    public async Task TheNodeFetchesTheAuthorityMetadataAndKeysItValidatesWith()
    {
        // Validating a token at all (the other tests) needs the discovery document and the JWKS.
        using var client = Server.CreateApiClient(Provider.Mint("alice"));
        await AssertInboxAsync(await client.GetAsync(SendApi.Path));
        Assert.True(Provider.MetadataRequests >= 1, "The node never read the discovery document.");
        Assert.True(Provider.JwksRequests >= 1, "The node never read the JWKS.");
    }

    [Fact]
    public async Task TheFakeProviderPublishesItsIssuerAndOnlyThePublicHalvesOfItsKeys()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var metadata = JsonDocument.Parse(await http.GetStringAsync(Provider.BaseAddress + FakeIdentityProvider.MetadataPath));
        Assert.Equal(Provider.Issuer, metadata.RootElement.GetProperty("issuer").GetString());
        var jwksUri = metadata.RootElement.GetProperty("jwks_uri").GetString()!;

        using var jwks = JsonDocument.Parse(await http.GetStringAsync(jwksUri));
        var keys = jwks.RootElement.GetProperty("keys").EnumerateArray().ToList();
        Assert.Equal(
            new[] { ("RSA", FakeIdentityProvider.RsaKeyId), ("EC", FakeIdentityProvider.EcKeyId) },
            keys.Select(k => (k.GetProperty("kty").GetString()!, k.GetProperty("kid").GetString()!)).ToArray());
        foreach (var key in keys)
        {
            var names = key.EnumerateObject().Select(p => p.Name).ToList();
            Assert.DoesNotContain(names, name => name is "d" or "p" or "q" or "dp" or "dq" or "qi");
        }
    }
}
