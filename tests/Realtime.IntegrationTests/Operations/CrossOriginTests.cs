using System.Net;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Operations;

public sealed class CrossOriginFixture : ServerFixture
{
    public const string AllowedOrigin = "https://app.example";

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Cors:AllowedOrigins"] = AllowedOrigin + ", https://admin.example" };
}

/// <summary>A browser app on another origin can negotiate with the hub and call the API, with credentials.</summary>
public sealed class CrossOriginTests(CrossOriginFixture fixture) : IClassFixture<CrossOriginFixture>
{
    private static HttpRequestMessage Preflight(string path, string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, path);
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "authorization,x-requested-with,x-signalr-user-agent");
        return request;
    }

    [Fact]
    public async Task APreflightFromAnAllowedOriginIsAnsweredWithCredentialsAllowed()
    {
        using var client = fixture.Server.CreateApiClient();
        var response = await client.SendAsync(Preflight("/hubs/notifications/negotiate?negotiateVersion=1", CrossOriginFixture.AllowedOrigin));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(CrossOriginFixture.AllowedOrigin, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("true", response.Headers.GetValues("Access-Control-Allow-Credentials").Single());
        Assert.Contains("authorization", response.Headers.GetValues("Access-Control-Allow-Headers").Single(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task AnApiAnswerToAnAllowedOriginCarriesItsHeadersAndExposesTheCorrelationId()
    {
        using var client = fixture.Server.CreateApiClient(fixture.Server.Tokens.User("cors-user"));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/notifications/unread-count");
        request.Headers.Add("Origin", "https://admin.example");

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("https://admin.example", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("X-Correlation-ID", response.Headers.GetValues("Access-Control-Expose-Headers").Single());
    }

    [Fact]
    public async Task AnOriginThatIsNotListedGetsNoCorsHeaders()
    {
        using var client = fixture.Server.CreateApiClient();
        var response = await client.SendAsync(Preflight("/api/notifications", "https://evil.example"));
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }
}

/// <summary>Without Cors__AllowedOrigins no origin is allowed.</summary>
public sealed class NoCrossOriginTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task WithoutConfigurationNoOriginIsAllowed()
    {
        using var client = fixture.Server.CreateApiClient();
        using var request = new HttpRequestMessage(HttpMethod.Options, "/api/notifications");
        request.Headers.Add("Origin", "https://app.example");
        request.Headers.Add("Access-Control-Request-Method", "GET");

        var response = await client.SendAsync(request);

        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }
}
