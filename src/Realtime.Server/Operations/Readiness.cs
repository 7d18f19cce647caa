using Realtime.Server.Storage;

namespace Realtime.Server.Operations;

/// <summary>
/// Until start-up is done (migrations, sequencer position), the API and hub answer 503, except an
/// endpoint marked <see cref="WaitsForStartup"/> (the SSE stream: EventSource gives up for good on
/// any answer but 200, so it waits for start-up itself).
/// </summary>
internal static class Readiness
{
    public static IApplicationBuilder UseReadinessGate(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var gate = context.RequestServices.GetRequiredService<StartupGate>();
        var path = context.Request.Path;
        if (!gate.IsOpen && context.GetEndpoint()?.Metadata.GetMetadata<WaitsForStartup>() is null
            && (path.StartsWithSegments("/api") || path.StartsWithSegments("/hubs")))
        {
            await ExceptionHandling.ServiceUnavailable(context, "The server is starting.");
            return;
        }
        await next(context);
    });
}

/// <summary>Endpoint metadata: the endpoint waits for start-up itself instead of being answered 503 by the readiness gate.</summary>
internal sealed class WaitsForStartup
{
    public static readonly WaitsForStartup Instance = new();
}
