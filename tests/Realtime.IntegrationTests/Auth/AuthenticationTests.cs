using System.Net;
using System.Net.Http.Json;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;

namespace Realtime.IntegrationTests.Auth;

/// <summary>
/// Who gets in (API.md "Identity"): signature, iss, aud, exp and nbf with at most 30 s of skew, a sub, scopes
/// from <c>scope</c> or <c>scp</c>, and <c>?access_token=</c> only where browsers cannot set headers.
/// Roles are not covered here: they are only observable through the admin endpoints.
/// </summary>
public sealed class AuthenticationTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{

    private RealtimeServer Server => fixture.Server;

    private TestTokens Tokens => fixture.Server.Tokens;

    public static TheoryData<string> RejectedTokens =>
    [
        "signed with another key",
        "expired 60 s ago",
        "not valid for another 2 minutes",
        "for another audience",
        "from another issuer",
        "unsigned (alg none)",
        "without sub",
        "not a JWT at all",
    ];

    /// <summary>A token that must be refused, carrying <paramref name="scope"/>; expiry is relative to now.</summary>
    private string RejectedToken(string kind, string? scope = null) => kind switch
    {
        "signed with another key" => Tokens.Mint("alice", scope, keyOverride: "another-signing-key-of-at-least-32-bytes!!"),
        "expired 60 s ago" => Tokens.Mint("alice", scope, expires: DateTime.UtcNow.AddSeconds(-60)),
        "not valid for another 2 minutes" => Tokens.Mint("alice", scope, notBefore: DateTime.UtcNow.AddMinutes(2)),
        "for another audience" => Tokens.Mint("alice", scope, audienceOverride: "someone-else"),
        "from another issuer" => Tokens.Mint("alice", scope, issuerOverride: "https://issuer.example"),
        "unsigned (alg none)" => Tokens.Unsigned("alice"),
        "without sub" => Tokens.Mint(null, scope),
        "not a JWT at all" => "garbage-that-is-no-token",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    [Fact]
    public async Task ARequestWithoutATokenIsAnswered401WithAProblem()
    {
        using var client = Server.CreateApiClient();
        await ProblemAssert.IsProblemAsync(await client.GetAsync(SendApi.Path), HttpStatusCode.Unauthorized);
        await ProblemAssert.IsProblemAsync(await SendApi.PostAsync(client, ValidSend()), HttpStatusCode.Unauthorized);
    }

    [Theory]
    [MemberData(nameof(RejectedTokens))]
    public async Task ARejectedTokenIsAnswered401WithAProblem(string kind)
    {
        using var client = Server.CreateApiClient(RejectedToken(kind));
        await ProblemAssert.IsProblemAsync(await client.GetAsync(SendApi.Path), HttpStatusCode.Unauthorized);
    }

    [Theory]
    [MemberData(nameof(RejectedTokens))]
    public async Task ARejectedTokenCannotSendEvenWithTheSendScope(string kind)
    {
        var token = RejectedToken(kind, scope: "notifications:send");
        using var client = Server.CreateApiClient(token);
        await ProblemAssert.IsProblemAsync(await SendApi.PostAsync(client, ValidSend()), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task ATokenThatExpiredWithinTheClockSkewIsStillAccepted()
    {
        using var client = Server.CreateApiClient(Tokens.Mint("alice", expires: DateTime.UtcNow.AddSeconds(-10)));
        var response = await client.GetAsync(SendApi.Path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task AUserTokenWithoutTheSendScopeIsForbiddenToSend()
    {
        using var client = Server.CreateApiClient(Tokens.User("alice"));
        await ProblemAssert.IsProblemAsync(await SendApi.PostAsync(client, ValidSend()), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task TheSendScopeMayComeAsAnScpArray()
    {
        var token = Tokens.Mint("scp-service", extraClaims: new Dictionary<string, object> { ["scp"] = new[] { "notifications:send" } });
        using var client = Server.CreateApiClient(token);
        var sent = await SendApi.ReadSentAsync(await SendApi.PostAsync(client, ValidSend()));
        Assert.Single(sent);
    }

    [Fact]
    public async Task TheSendScopeMayBeOneOfSeveralInTheScopeString()
    {
        using var client = Server.CreateApiClient(Tokens.Mint("multi-scope-service", scope: "openid notifications:send"));
        var sent = await SendApi.ReadSentAsync(await SendApi.PostAsync(client, ValidSend()));
        Assert.Single(sent);
    }

    [Fact]
    public async Task TheRestApiIgnoresAnAccessTokenInTheQueryButAcceptsItInTheHeader()
    {
        var token = Tokens.User("alice");
        using var anonymous = Server.CreateApiClient();
        var fromQuery = await anonymous.GetAsync($"{SendApi.Path}?access_token={Uri.EscapeDataString(token)}");
        await ProblemAssert.IsProblemAsync(fromQuery, HttpStatusCode.Unauthorized);

        using var sender = Server.CreateApiClient();
        var sendFromQuery = await sender.PostAsync($"{SendApi.Path}?access_token={Uri.EscapeDataString(Tokens.Service())}", JsonContent.Create(ValidSend()));
        await ProblemAssert.IsProblemAsync(sendFromQuery, HttpStatusCode.Unauthorized);

        using var withHeader = Server.CreateApiClient(token);
        Assert.Equal(HttpStatusCode.OK, (await withHeader.GetAsync(SendApi.Path)).StatusCode);
    }

    [Fact]
    public async Task TheHubAcceptsAnAccessTokenInTheQuery()
    {
        await using var hub = await Server.ConnectHubAsync(Tokens.User(SendApi.NewUserId()));
        var replayed = await hub.InvokeAsync("Resume", 0);
        Assert.Equal(0, replayed.GetInt32());
    }

    [Fact]
    public async Task TheHubRejectsAConnectionWithoutATokenWith401AtUpgrade()
    {
        var rejected = await Assert.ThrowsAsync<HttpRequestException>(() => Server.ConnectHubAsync(null));
        Assert.Equal(HttpStatusCode.Unauthorized, rejected.StatusCode);
    }

    [Theory]
    [MemberData(nameof(RejectedTokens))]
    public async Task TheHubRejectsABadTokenWith401AtUpgrade(string kind)
    {
        var rejected = await Assert.ThrowsAsync<HttpRequestException>(() => Server.ConnectHubAsync(RejectedToken(kind)));
        Assert.Equal(HttpStatusCode.Unauthorized, rejected.StatusCode);
    }

    [Fact]
    public async Task TheServerClosesAHubConnectionWhoseTokenExpires()
    {
        var user = SendApi.NewUserId();
        await TokenExpiry.AssertTheHubClosesAtExpiryAsync(Server, expires => Tokens.Mint(user, expires: expires), Tokens.User(user));
    }

    private static object ValidSend() => new { userId = SendApi.NewUserId(), title = "Hello" };
}
