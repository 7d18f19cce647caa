using System.Net;
using System.Text.Json;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Operations;

public sealed class CrossOriginWildcardFixture : ServerFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Cors:AllowedOrigins"] = "*" };
}

/// <summary><c>Cors__AllowedOrigins=*</c> lets any origin call, but never with credentials (README "Security").</summary>
public sealed class CrossOriginWildcardTests(CrossOriginWildcardFixture fixture) : IClassFixture<CrossOriginWildcardFixture>
{
    [Theory]
    [InlineData("https://evil.example")]
    [InlineData("null")]
    public async Task AWildcardAnswersAnyOriginWithAStarAndNeverAllowsCredentials(string origin)
    {
        using var client = fixture.Server.CreateApiClient();
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/hubs/notifications/negotiate?negotiateVersion=1");
        preflight.Headers.Add("Origin", origin);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization");

        var response = await client.SendAsync(preflight);

        Assert.Equal("*", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.False(response.Headers.Contains("Access-Control-Allow-Credentials"), "a wildcard must not allow credentials");
    }

    [Fact]
    public async Task AnApiAnswerUnderAWildcardCarriesAStarWithoutCredentials()
    {
        using var client = fixture.Server.CreateApiClient(fixture.Server.Tokens.User("cors-wildcard-user"));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/notifications/unread-count");
        request.Headers.Add("Origin", "https://evil.example");

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("*", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.False(response.Headers.Contains("Access-Control-Allow-Credentials"));
    }
}

/// <summary>/health/live checks only that the process answers, so it reports no dependency it did not check.</summary>
public sealed class LivenessTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task LiveReportsNoDependencyItDidNotCheck()
    {
        using var client = fixture.Server.CreateApiClient();
        var response = await client.GetAsync("/health/live");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("live", body.RootElement.GetProperty("status").GetString());
        Assert.False(body.RootElement.TryGetProperty("postgres", out _), body.RootElement.GetRawText());
        Assert.False(body.RootElement.TryGetProperty("redis", out _), body.RootElement.GetRawText());
    }
}
