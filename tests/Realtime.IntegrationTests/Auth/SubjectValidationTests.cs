using System.Net;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;

namespace Realtime.IntegrationTests.Auth;

/// <summary>
/// A token's <c>sub</c> is the user id, so it follows the rules of user ids (1–200 characters, no
/// NUL, no control characters, no lone surrogates); a token whose <c>sub</c> breaks them is 401 at
/// authentication, on every endpoint, the hub and SSE, never a 500 further in.
/// </summary>
public sealed class SubjectValidationTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RealtimeServer Server => fixture.Server;

    public static TheoryData<string> InvalidSubjects =>
    [
        "201 characters",
        "10,000 characters",
        "a NUL",
        "a control character",
        "a C1 control character",
        "a lone surrogate",
        "an array of two",
    ];

    private string Token(string kind, string? scope = null) => kind switch
    {
        "201 characters" => Server.Tokens.Mint(new string('u', 201), scope),
        "10,000 characters" => Server.Tokens.Mint(new string('u', 10_000), scope),
        "a NUL" => Server.Tokens.Mint("ali\0ce", scope),
        "a control character" => Server.Tokens.Mint("ali\nce", scope),
        "a C1 control character" => Server.Tokens.Mint("ali\u0085ce", scope),
        "a lone surrogate" => SignedWithRawPayload($$"""{"sub":"ali\ud800ce"{{(scope is null ? "" : $",\"scope\":\"{scope}\"")}},"iss":"{{Server.Tokens.Issuer}}","aud":"{{Server.Tokens.Audience}}","exp":{{DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds()}}}"""),
        "an array of two" => Server.Tokens.Mint(null, scope, extraClaims: new Dictionary<string, object> { ["sub"] = new[] { "alice", "bob" } }),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    [Theory]
    [MemberData(nameof(InvalidSubjects))]
    public async Task ATokenWhoseSubIsNotAValidUserIdIsAnswered401Everywhere(string kind)
    {
        using var user = Server.CreateApiClient(Token(kind));
        await ProblemAssert.IsProblemAsync(await user.GetAsync(SendApi.Path), HttpStatusCode.Unauthorized, kind);
        await ProblemAssert.IsProblemAsync(await user.GetAsync($"{SendApi.Path}/unread-count"), HttpStatusCode.Unauthorized, kind);
        await ProblemAssert.IsProblemAsync(await user.PostAsync($"{SendApi.Path}/1/read", null), HttpStatusCode.Unauthorized, kind);
        await ProblemAssert.IsProblemAsync(await user.PostAsync($"{SendApi.Path}/read-all", null), HttpStatusCode.Unauthorized, kind);
        await ProblemAssert.IsProblemAsync(await user.DeleteAsync($"{SendApi.Path}/1"), HttpStatusCode.Unauthorized, kind);

        using var sender = Server.CreateApiClient(Token(kind, "notifications:send"));
        await ProblemAssert.IsProblemAsync(await SendApi.PostAsync(sender, new { userId = "bob", title = "t", idempotencyKey = "k" }), HttpStatusCode.Unauthorized, kind);

        using var sse = await user.GetAsync("/api/notifications/stream", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.Unauthorized, sse.StatusCode);
        using var negotiate = await user.PostAsync("/hubs/notifications/negotiate?negotiateVersion=1", null);
        Assert.Equal(HttpStatusCode.Unauthorized, negotiate.StatusCode);
    }

    /// <summary>The same rules through the query string, where browsers put the token (a short sub: a long one would pass the URL limit).</summary>
    [Fact]
    public async Task ATokenWithAControlCharacterInItsSubIsAnswered401OnTheQueryStringToo()
    {
        using var anonymous = Server.CreateApiClient();
        var token = Uri.EscapeDataString(Token("a control character"));
        using var sse = await anonymous.GetAsync($"/api/notifications/stream?access_token={token}", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.Unauthorized, sse.StatusCode);
        using var negotiate = await anonymous.PostAsync($"/hubs/notifications/negotiate?negotiateVersion=1&access_token={token}", null);
        Assert.Equal(HttpStatusCode.Unauthorized, negotiate.StatusCode);
    }

    /// <summary>An HS256 token over exactly this payload JSON (a serializer would not write a lone surrogate escape).</summary>
    private string SignedWithRawPayload(string payloadJson)
    {
        static string Encode(byte[] bytes) => Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(bytes);
        var unsigned = Encode("""{"alg":"HS256","typ":"JWT"}"""u8.ToArray()) + "." + Encode(System.Text.Encoding.UTF8.GetBytes(payloadJson));
        var signature = System.Security.Cryptography.HMACSHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes(Server.Tokens.SigningKey), System.Text.Encoding.ASCII.GetBytes(unsigned));
        return unsigned + "." + Encode(signature);
    }

    [Fact]
    public async Task ASubOfExactly200CharactersOutsideAsciiIsAccepted()
    {
        var subject = new string('\u00e9', 198) + "\ud83d\ude00"; // 200 UTF-16 code units, a surrogate pair at the end
        using var client = Server.CreateApiClient(Server.Tokens.Mint(subject));

        var response = await client.GetAsync(SendApi.Path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
