using System.Net;
using System.Text.Json;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Operations;

public sealed class HealthTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task LiveAnswersWithoutAToken()
    {
        using var client = fixture.Server.CreateApiClient();
        var response = await client.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task ReadyReportsPostgresUp()
    {
        using var client = fixture.Server.CreateApiClient();
        var response = await client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("up", body.RootElement.GetProperty("postgres").GetString());
        Assert.Equal("ready", body.RootElement.GetProperty("status").GetString());
        Assert.False(body.RootElement.TryGetProperty("redis", out _), "a node without Redis configured reports no redis");
    }

    [Fact]
    public async Task EveryResponseEchoesTheCallersCorrelationId()
    {
        using var client = fixture.Server.CreateApiClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/notifications");
        request.Headers.Add("X-Correlation-ID", "abc-123");
        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("abc-123", response.Headers.GetValues("X-Correlation-ID").Single());
    }

    [Fact]
    public async Task AResponseWithoutACorrelationIdGetsANewOne()
    {
        using var client = fixture.Server.CreateApiClient();
        var response = await client.GetAsync("/health/live");
        Assert.False(string.IsNullOrWhiteSpace(response.Headers.GetValues("X-Correlation-ID").Single()));
    }

    [Fact]
    public async Task TheOpenApiDocumentDescribesTheRestApi()
    {
        using var client = fixture.Server.CreateApiClient();
        var response = await client.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(body.RootElement.GetProperty("paths").TryGetProperty("/api/notifications", out _));

        // Endpoints return typed results, so each answer's shape is documented.
        foreach (var (path, method, status) in DocumentedAnswers)
        {
            var responses = body.RootElement.GetProperty("paths").GetProperty(path).GetProperty(method).GetProperty("responses");
            Assert.True(responses.TryGetProperty(status, out var answer), $"{method} {path} documents {status}: {responses}");
            Assert.True(answer.TryGetProperty("content", out var content) && content.EnumerateObject().Any(c => c.Value.TryGetProperty("schema", out _)),
                $"{method} {path} {status} has a schema: {answer}");
        }
    }

    private static readonly (string Path, string Method, string Status)[] DocumentedAnswers =
    [
        ("/api/notifications", "post", "201"), ("/api/notifications", "post", "200"), ("/api/notifications", "post", "400"),
        ("/api/notifications", "post", "503"), ("/api/notifications", "get", "200"), ("/api/notifications/unread-count", "get", "200"),
        ("/api/broadcasts", "post", "201"),
        ("/api/preferences", "get", "200"), ("/api/preferences", "put", "200"), ("/api/preferences", "put", "400"),
    ];
}
