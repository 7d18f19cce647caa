using System.Net;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;

namespace Realtime.IntegrationTests.Live;

/// <summary>The SSE stream works for any valid <c>exp</c>, also one further ahead than a single timer can wait (~49.7 days).</summary>
public sealed class SseLongLivedTokenTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Theory]
    [InlineData(60)]
    [InlineData(36_500)]
    public async Task AStreamOpensAndDeliversWithATokenExpiringDaysAhead(int days)
    {
        var server = fixture.Server;
        var user = SendApi.NewUserId();
        await using var stream = await SseTestClient.ConnectAsync(server.BaseAddress, server.Tokens.Mint(user, lifetime: TimeSpan.FromDays(days)));

        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
        await stream.Retry.WaitAsync(SseTestClient.DefaultTimeout);
        var id = await server.SendAsync(user, "far future");

        var received = await stream.NextAsync("notification");
        Assert.Equal(id.ToString(System.Globalization.CultureInfo.InvariantCulture), received.Id);
    }

    /// <summary>exp as the last second of year 9999, beyond it, and as a fraction (a NumericDate may be one): never a 500.</summary>
    [Theory]
    [InlineData("253402300799")]
    [InlineData("300000000000")]
    [InlineData("99999999999.5")]
    public async Task AnExtremeButWellFormedExpIsEitherRefusedOrStreamsNeverA500(string exp)
    {
        var server = fixture.Server;
        var token = SignedWithRawPayload(server.Tokens,
            $$"""{"sub":"{{SendApi.NewUserId()}}","iss":"{{server.Tokens.Issuer}}","aud":"{{server.Tokens.Audience}}","exp":{{exp}}}""");
        await using var stream = await SseTestClient.ConnectAsync(server.BaseAddress, token);

        Assert.True(stream.Response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Unauthorized, $"exp {exp}: {(int)stream.Response.StatusCode}");
        if (stream.Response.StatusCode == HttpStatusCode.OK)
        {
            await stream.Retry.WaitAsync(SseTestClient.DefaultTimeout);
            Assert.False(stream.Ended.IsCompleted, "the stream stays open until the token expires");
        }
    }

    /// <summary>An HS256 token over exactly this payload JSON.</summary>
    private static string SignedWithRawPayload(TestTokens tokens, string payloadJson)
    {
        static string Encode(byte[] bytes) => Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(bytes);
        var unsigned = Encode("""{"alg":"HS256","typ":"JWT"}"""u8.ToArray()) + "." + Encode(System.Text.Encoding.UTF8.GetBytes(payloadJson));
        var signature = System.Security.Cryptography.HMACSHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes(tokens.SigningKey), System.Text.Encoding.ASCII.GetBytes(unsigned));
        return unsigned + "." + Encode(signature);
    }
}
