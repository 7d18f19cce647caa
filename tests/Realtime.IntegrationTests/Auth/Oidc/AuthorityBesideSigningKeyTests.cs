using System.Net;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;

namespace Realtime.IntegrationTests.Auth.Oidc;

/// <summary>
/// A node with both the HS256 <c>Auth:SigningKey</c> and <c>Auth:Authority</c>: each kind of token is checked
/// only against its own keys and issuer, whatever the token claims (no algorithm or issuer confusion). The
/// bearer-token specification runs here with the authority's tokens, refusing the confused ones.
/// </summary>
public sealed class AuthorityBesideSigningKeyTests(AuthorityBesideSigningKeyFixture fixture)
    : BearerTokenSpecification<AuthorityBesideSigningKeyTests>, IRejectedTokenKinds, IClassFixture<AuthorityBesideSigningKeyFixture>
{
    protected override RealtimeServer Server => fixture.Server;

    private FakeIdentityProvider Provider => fixture.Provider;

    private TestTokens Tokens => fixture.Server.Tokens;

    public static TheoryData<string> AcceptedTokens =>
    [
        "HS256 signed with the configured key",
        "RS256 from the authority",
        "ES256 from the authority",
    ];

    public static IEnumerable<string> RejectedKinds =>
    [
        "HS256 with the authority's issuer, signed with another key",
        "HS256 with the authority's issuer, signed with the configured key",
        "HS256 signed with the authority's RSA public key as the secret",
        "RS256 from the authority with the HS256 issuer",
        "RS256 signed with another RSA key under the published kid",
        "RS256 from the authority for another audience",
        "unsigned (alg none)",
    ];

    private string AcceptedToken(string kind, string userId) => kind switch
    {
        "HS256 signed with the configured key" => Tokens.User(userId),
        "RS256 from the authority" => Provider.Mint(userId),
        "ES256 from the authority" => Provider.Mint(userId, Provider.EcKey),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    protected override string Mint(string subject, string? scope = null, DateTime? expires = null, IDictionary<string, object>? extraClaims = null) =>
        Provider.Mint(subject, scope: scope, expires: expires, extraClaims: extraClaims);

    protected override string RejectedToken(string kind, string? scope = null) => kind switch
    {
        "HS256 with the authority's issuer, signed with another key" =>
            Tokens.Mint("alice", scope, issuerOverride: Provider.Issuer, keyOverride: "another-signing-key-of-at-least-32-bytes!!"),
        "HS256 with the authority's issuer, signed with the configured key" => Tokens.Mint("alice", scope, issuerOverride: Provider.Issuer),
        "HS256 signed with the authority's RSA public key as the secret" => AlgorithmConfusionToken(scope),
        "RS256 from the authority with the HS256 issuer" => Provider.Mint("alice", scope: scope, issuerOverride: TestTokens.DefaultIssuer),
        "RS256 signed with another RSA key under the published kid" => Provider.Mint("alice", Provider.NewImpostorRsaKey(), scope),
        "RS256 from the authority for another audience" => Provider.Mint("alice", scope: scope, audienceOverride: "someone-else"),
        "unsigned (alg none)" => Tokens.Unsigned("alice"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    [Theory]
    [MemberData(nameof(AcceptedTokens))]
    public async Task EitherKindOfTokenReadsTheInbox(string kind)
    {
        using var client = Server.CreateApiClient(AcceptedToken(kind, SendApi.NewUserId()));
        var response = await client.GetAsync(SendApi.Path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{kind}: expected 200, got {(int)response.StatusCode}: {text}");
    }

    [Theory]
    [MemberData(nameof(AcceptedTokens))]
    public async Task TheHubAcceptsEitherKindOfTokenInTheQuery(string kind)
    {
        await using var hub = await Server.ConnectHubAsync(AcceptedToken(kind, SendApi.NewUserId()));
        var replayed = await hub.InvokeAsync("Resume", 0);
        Assert.Equal(0, replayed.GetInt32());
    }

    [Fact]
    public async Task AServiceWithAnHs256TokenSendsToAUserWhoReadsWithAnRs256Token()
    {
        var recipient = SendApi.NewUserId();
        using var sender = Server.CreateApiClient(Tokens.Service());
        var sent = await SendApi.ReadSentAsync(await SendApi.PostAsync(sender, new { userId = recipient, title = "Hello" }));

        using var reader = Server.CreateApiClient(Provider.Mint(recipient));
        var response = await reader.GetAsync(SendApi.Path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Expected 200, got {(int)response.StatusCode}: {text}");
        Assert.Contains($"\"id\":{Assert.Single(sent).Id}", text);
    }

    /// <summary>
    /// The classic confusion attack: HS256 with the authority's public key (PEM text, as a careless verifier
    /// would read it) as the HMAC secret, claiming the authority's issuer.
    /// </summary>
    private string AlgorithmConfusionToken(string? scope)
    {
        var publicPem = Provider.RsaKey.Rsa.ExportSubjectPublicKeyInfoPem();
        return Tokens.Mint("alice", scope, issuerOverride: Provider.Issuer, keyOverride: publicPem);
    }
}
