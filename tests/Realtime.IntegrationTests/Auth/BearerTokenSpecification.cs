using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;

namespace Realtime.IntegrationTests.Auth;

/// <summary>
/// Who gets in (API.md "Identity"), whoever mints the tokens: signature, iss, aud, exp and nbf with
/// at most 30 s of skew, a sub, scopes from <c>scope</c> or <c>scp</c>, and <c>?access_token=</c>
/// only where browsers cannot set headers. Run once per way of minting (the HS256 key, an OpenID
/// Connect authority), <typeparamref name="TSelf"/>, which names the tokens it must refuse.
/// </summary>
public abstract class BearerTokenSpecification<TSelf>
    where TSelf : IRejectedTokenKinds
{
    public static TheoryData<string> RejectedTokens => new(TSelf.RejectedKinds);

    protected abstract RealtimeServer Server { get; }

    /// <summary>A valid token for <paramref name="subject"/>, valid for an hour unless <paramref name="expires"/>.</summary>
    protected abstract string Mint(string subject, string? scope = null, DateTime? expires = null, IDictionary<string, object>? extraClaims = null);

    /// <summary>A token of the kind <paramref name="kind"/> (one of <see cref="IRejectedTokenKinds.RejectedKinds"/>) carrying <paramref name="scope"/>.</summary>
    protected abstract string RejectedToken(string kind, string? scope = null);

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
        await ProblemAssert.IsProblemAsync(await client.GetAsync(SendApi.Path), HttpStatusCode.Unauthorized, kind);
    }

    [Theory]
    [MemberData(nameof(RejectedTokens))]
    public async Task ARejectedTokenCannotSendEvenWithTheSendScope(string kind)
    {
        using var client = Server.CreateApiClient(RejectedToken(kind, scope: "notifications:send"));
        await ProblemAssert.IsProblemAsync(await SendApi.PostAsync(client, ValidSend()), HttpStatusCode.Unauthorized, kind);
    }

    [Fact]
    public async Task ATokenThatExpiredWithinTheClockSkewIsStillAccepted()
    {
        using var client = Server.CreateApiClient(Mint("alice", expires: DateTime.UtcNow.AddSeconds(-10)));
        await AssertInboxAsync(await client.GetAsync(SendApi.Path));
    }

    [Fact]
    public async Task AUserTokenWithoutTheSendScopeIsForbiddenToSend()
    {
        using var client = Server.CreateApiClient(Mint("alice"));
        await ProblemAssert.IsProblemAsync(await SendApi.PostAsync(client, ValidSend()), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task TheSendScopeMayBeOneOfSeveralInTheScopeStringAndTheRecipientReadsWhatWasSent()
    {
        var recipient = SendApi.NewUserId();
        using var sender = Server.CreateApiClient(Mint("multi-scope-service", scope: "openid notifications:send"));
        var sent = await SendApi.ReadSentAsync(await SendApi.PostAsync(sender, new { userId = recipient, title = "Signed in" }));
        Assert.Equal(recipient, Assert.Single(sent).UserId);

        using var reader = Server.CreateApiClient(Mint(recipient));
        var item = Assert.Single(await AssertInboxAsync(await reader.GetAsync(SendApi.Path)));
        Assert.Equal(sent[0].Id, item.GetProperty("id").GetInt64());
        Assert.Equal("Signed in", item.GetProperty("title").GetString());
    }

    [Fact]
    public async Task TheSendScopeMayComeAsAnScpArray()
    {
        var token = Mint("scp-service", extraClaims: new Dictionary<string, object> { ["scp"] = new[] { "notifications:send" } });
        using var client = Server.CreateApiClient(token);
        Assert.Single(await SendApi.ReadSentAsync(await SendApi.PostAsync(client, ValidSend())));
    }

    [Fact]
    public async Task TheRestApiIgnoresAnAccessTokenInTheQueryButAcceptsItInTheHeader()
    {
        var token = Mint("alice");
        using var anonymous = Server.CreateApiClient();
        var fromQuery = await anonymous.GetAsync($"{SendApi.Path}?access_token={Uri.EscapeDataString(token)}");
        await ProblemAssert.IsProblemAsync(fromQuery, HttpStatusCode.Unauthorized);
        var sendFromQuery = await anonymous.PostAsync(
            $"{SendApi.Path}?access_token={Uri.EscapeDataString(Mint("billing-service", scope: "notifications:send"))}", JsonContent.Create(ValidSend()));
        await ProblemAssert.IsProblemAsync(sendFromQuery, HttpStatusCode.Unauthorized);

        using var withHeader = Server.CreateApiClient(token);
        await AssertInboxAsync(await withHeader.GetAsync(SendApi.Path));
    }

    [Fact]
    public async Task TheHubAcceptsAnAccessTokenInTheQuery()
    {
        await using var hub = await Server.ConnectHubAsync(Mint(SendApi.NewUserId()));
        Assert.Equal(0, (await hub.InvokeAsync("Resume", 0)).GetInt32());
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
        await TokenExpiry.AssertTheHubClosesAtExpiryAsync(Server, expires => Mint(user, expires: expires), Mint(user));
    }

    /// <summary>Asserts 200 with an inbox page and returns its items.</summary>
    protected static async Task<IReadOnlyList<JsonElement>> AssertInboxAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Expected 200 for the inbox, got {(int)response.StatusCode}: {text}");
        using var document = JsonDocument.Parse(text);
        return document.RootElement.GetProperty("items").EnumerateArray().Select(item => item.Clone()).ToList();
    }

    private static object ValidSend() => new { userId = SendApi.NewUserId(), title = "Hello" };
}

/// <summary>The kinds of token a minter makes that must be refused (the theory data of the specification).</summary>
public interface IRejectedTokenKinds
{
    static abstract IEnumerable<string> RejectedKinds { get; }
}
