using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace Realtime.Server.Observability;

/// <summary>
/// <c>GET /metrics</c> in the OpenAPI document: the Prometheus exporter maps it as middleware, which
/// the document generator cannot see, so it is described here (when it is enabled).
/// </summary>
internal sealed class MetricsDocumentation(IOptions<MetricsOptions> options) : IOpenApiDocumentTransformer
{
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        var metrics = options.Value;
        if (!metrics.Enabled)
        {
            return Task.CompletedTask;
        }
        var responses = new OpenApiResponses
        {
            ["200"] = new OpenApiResponse
            {
                Description = "Prometheus text exposition format (realtime_*, http_server_*, kestrel_*, signalr_server_*, dotnet_*, db_client_*).",
                Content = new Dictionary<string, OpenApiMediaType> { ["text/plain"] = new() },
            },
        };
        if (!string.IsNullOrWhiteSpace(metrics.RequireRole))
        {
            responses["401"] = new OpenApiResponse { Description = "No valid token." };
            responses["403"] = new OpenApiResponse { Description = $"The token lacks the role {metrics.RequireRole} (Metrics__RequireRole)." };
        }
        document.Paths ??= new OpenApiPaths();
        document.Paths[MetricsSetup.Path] = new OpenApiPathItem
        {
            Operations = new Dictionary<HttpMethod, OpenApiOperation>
            {
                [HttpMethod.Get] = new OpenApiOperation
                {
                    Summary = "Metrics for Prometheus" + (metrics.Port is { } port ? $" (only on port {port}, Metrics__Port)" : ""),
                    Tags = new HashSet<OpenApiTagReference> { new("Operations", document) },
                    Responses = responses,
                },
            },
        };
        return Task.CompletedTask;
    }
}
