using System.Net;
using System.Text.Json;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;

namespace Realtime.IntegrationTests.Auth.Oidc;

/// <summary>
/// A node configured with <c>Auth:Authority</c> only (API.md "Configuration", "Identity"): RS256 and ES256
/// tokens signed with the keys of the authority's JWKS, <c>aud</c> = <c>Auth:Audience</c>, <c>iss</c> = the
/// issuer of the authority's metadata, over real HTTP and WebSockets.
/// </summary>
public sealed class AuthorityTests(AuthorityFixture fixture) : IClassFixture<AuthorityFixture>
{

    private RealtimeServer Server => fixture.Server;

    private FakeIdentityProvider Provider => fixture.Provider;

    public static TheoryData<string> RejectedTokens =>
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

    private string RejectedToken(string kind, string? scope = null) => kind switch
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
    public async Task AnRs256TokenFromTheAuthorityWithTheRightAudienceReadsTheInbox()
    {
        using var client = Server.CreateApiClient(Provider.Mint(SendApi.NewUserId()));
        var response = await client.GetAsync(SendApi.Path);
        await AssertInboxAsync(response);
    }

    [Fact]
    public async Task AnEs256TokenFromTheAuthorityReadsTheInboxToo()
    {
        using var client = Server.CreateApiClient(Provider.Mint(SendApi.NewUserId(), Provider.EcKey));
        var response = await client.GetAsync(SendApi.Path);
        await AssertInboxAsync(response);
    }

    [Fact]
    public async Task AnRs256TokenWithTheSendScopeSendsAndTheRecipientReadsItWithAnEs256Token()
    {
        var recipient = SendApi.NewUserId();
        using var sender = Server.CreateApiClient(Provider.Mint("billing-service", scope: "notifications:send"));
        var sent = await SendApi.ReadSentAsync(await SendApi.PostAsync(sender, new { userId = recipient, title = "From the authority" }));
        Assert.Equal(recipient, Assert.Single(sent).UserId);

        using var reader = Server.CreateApiClient(Provider.Mint(recipient, Provider.EcKey));
        var items = await AssertInboxAsync(await reader.GetAsync(SendApi.Path));
        var item = Assert.Single(items);
        Assert.Equal(sent[0].Id, item.GetProperty("id").GetInt64());
        Assert.Equal("From the authority", item.GetProperty("title").GetString());
    }

    [Fact]
    public async Task AnAuthorityTokenWithoutTheSendScopeIsForbiddenToSend()
    {
        using var client = Server.CreateApiClient(Provider.Mint("alice"));
        var response = await SendApi.PostAsync(client, new { userId = SendApi.NewUserId(), title = "Hello" });
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task AnAuthorityTokenThatExpiredWithinTheClockSkewIsStillAccepted()
    {
        using var client = Server.CreateApiClient(Provider.Mint("alice", expires: DateTime.UtcNow.AddSeconds(-10)));
        await AssertInboxAsync(await client.GetAsync(SendApi.Path));
    }

    [Theory]
    [MemberData(nameof(RejectedTokens))]
    public async Task ARejectedTokenIsAnswered401WithAProblem(string kind)
    {
        using var client = Server.CreateApiClient(RejectedToken(kind));
        await ProblemAssert.IsProblemAsync(await client.GetAsync(SendApi.Path), HttpStatusCode.Unauthorized, kind);
    }

    [Theory]
    [MemberData(nameof(RejectedTokens))]
    public async Task ARejectedTokenCannotSendEvenWithTheSendScope(string kind)
    {
        using var client = Server.CreateApiClient(RejectedToken(kind, scope: "notifications:send"));
        var response = await SendApi.PostAsync(client, new { userId = SendApi.NewUserId(), title = "Hello" });
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized, kind);
    }

    [Fact]
    public async Task TheHubAcceptsAnAuthorityTokenInTheQuery()
    {
        await using var hub = await Server.ConnectHubAsync(Provider.Mint(SendApi.NewUserId(), Provider.EcKey));
        var replayed = await hub.InvokeAsync("Resume", 0);
        Assert.Equal(0, replayed.GetInt32());
    }

    [Fact]
    public async Task TheServerClosesAHubConnectionWhoseAuthorityTokenExpires()
    {
        var user = SendApi.NewUserId();
        await TokenExpiry.AssertTheHubClosesAtExpiryAsync(Server, expires => Provider.Mint(user, expires: expires), Provider.Mint(user));
    }

    [Theory]
    [MemberData(nameof(RejectedTokens))]
    public async Task TheHubRejectsABadTokenWith401AtUpgrade(string kind)
    {
        var rejected = await Assert.ThrowsAsync<HttpRequestException>(() => Server.ConnectHubAsync(RejectedToken(kind)));
        Assert.Equal(HttpStatusCode.Unauthorized, rejected.StatusCode);
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

    /// <summary>Asserts 200 with an inbox page and returns its items.</summary>
    private static async Task<IReadOnlyList<JsonElement>> AssertInboxAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Expected 200 for the inbox, got {(int)response.StatusCode}: {text}");
        using var document = JsonDocument.Parse(text);
        return document.RootElement.GetProperty("items").EnumerateArray().Select(item => item.Clone()).ToList();
    }
}
