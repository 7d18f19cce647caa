using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Operations;

public sealed class EveryFeatureFixture : ServerFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Realtime:DemoPage"] = "true" };
}

/// <summary>
/// <c>GET /openapi/v1.json</c> documents every REST endpoint the node maps (push, operations and
/// the demo's token endpoint included): the routes are read from the app's own endpoint table, so
/// an endpoint added later without documentation fails here.
/// </summary>
public sealed partial class OpenApiCoverageTests(EveryFeatureFixture fixture) : IClassFixture<EveryFeatureFixture>
{
    /// <summary>Not REST: the demo page's files (HTML, scripts, icon).</summary>
    private static readonly string[] DemoAssets = ["/", "/sw.js", "/demo/{file}", "/favicon.ico"];

    [Fact]
    public async Task EveryMappedRestRouteAndMethodIsInTheOpenApiDocument()
    {
        using var client = fixture.Server.CreateApiClient();
        using var document = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json"));
        var paths = document.RootElement.GetProperty("paths");

        var routes = RestRoutes().ToList();
        Assert.Contains(routes, r => r.Path == "/api/push/subscriptions");
        Assert.Contains(routes, r => r.Path == "/metrics");
        var missing = routes.Where(r => !paths.TryGetProperty(r.Path, out var item) || !item.TryGetProperty(r.Method.ToLowerInvariant(), out _)).ToList();

        Assert.True(missing.Count == 0, "Not in /openapi/v1.json: " + string.Join(", ", missing.Select(r => $"{r.Method} {r.Path}"))
            + "; documented: " + string.Join(", ", paths.EnumerateObject().Select(p => p.Name)));
    }

    /// <summary>Every (method, path) of the endpoint table but the hub's, the document's own and the demo's files; paths as OpenAPI writes them.</summary>
    private IEnumerable<(string Method, string Path)> RestRoutes()
    {
        var endpoints = fixture.Server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>();
        foreach (var endpoint in endpoints)
        {
            var pattern = "/" + endpoint.RoutePattern.RawText!.TrimStart('/');
            if (endpoint.Metadata.GetMetadata<HubMetadata>() is not null || pattern.StartsWith("/hubs/", StringComparison.Ordinal)
                || pattern.StartsWith("/openapi/", StringComparison.Ordinal) || DemoAssets.Contains(pattern))
            {
                continue;
            }
            var path = Parameter().Replace(pattern, "{$1}");
            path = path.Length > 1 ? path.TrimEnd('/') : path;
            var methods = endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? [HttpMethods.Get];
            foreach (var method in methods)
            {
                yield return (method, path);
            }
        }
    }

    /// <summary><c>{id:long}</c> → <c>{id}</c>, <c>{*rest}</c> → <c>{rest}</c>.</summary>
    [GeneratedRegex(@"\{\**([^:}=?]+)[^}]*\}")]
    private static partial Regex Parameter();
}
