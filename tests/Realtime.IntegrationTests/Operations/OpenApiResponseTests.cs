using System.Net;
using System.Text.Json;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Operations;

/// <summary>Endpoints return typed results, so the OpenAPI document tells clients what each answer looks like.</summary>
public sealed class OpenApiResponseTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Theory]
    [InlineData("/api/notifications", "post", "201")]
    [InlineData("/api/notifications", "post", "200")]
    [InlineData("/api/notifications", "post", "400")]
    [InlineData("/api/notifications", "post", "503")]
    [InlineData("/api/notifications", "get", "200")]
    [InlineData("/api/notifications/unread-count", "get", "200")]
    [InlineData("/api/broadcasts", "post", "201")]
    public async Task TheOpenApiDocumentDescribesTheShapeOfEachAnswer(string path, string method, string status)
    {
        using var client = fixture.Server.CreateApiClient();
        var response = await client.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        var responses = document.RootElement.GetProperty("paths").GetProperty(path).GetProperty(method).GetProperty("responses");
        Assert.True(responses.TryGetProperty(status, out var answer), $"{method} {path} documents {status}: {responses}");
        Assert.True(answer.TryGetProperty("content", out var content) && content.EnumerateObject().Any(c => c.Value.TryGetProperty("schema", out _)),
            $"{method} {path} {status} has a schema: {answer}");
    }
}
