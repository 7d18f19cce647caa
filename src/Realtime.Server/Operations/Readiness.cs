using Realtime.Server.Storage;

namespace Realtime.Server.Operations;

/// <summary>
/// Until start-up is done (migrations, sequencer position), the API and hub answer 503, except an
/// endpoint marked <see cref="WaitsForStartup"/> (the SSE stream: EventSource gives up for good on
/// any answer but 200, so it waits for start-up itself).
/// </summary>
internal static class Readiness
{
    /// <remarks>
    /// Not async: it returns the next step's task, so a long-lived request (a hub connection, an
    /// SSE stream) does not keep a frame of this middleware alive.
    /// </remarks>
    public static IApplicationBuilder UseReadinessGate(this IApplicationBuilder app) => app.Use(next => context =>
    {
        var gate = context.RequestServices.GetRequiredService<StartupGate>();
        var path = context.Request.Path;
        if (!gate.IsOpen && context.GetEndpoint()?.Metadata.GetMetadata<WaitsForStartup>() is null
            && (path.StartsWithSegments("/api") || path.StartsWithSegments("/hubs")))
        {
            return ExceptionHandling.ServiceUnavailable(context, "The server is starting.");
        }
        return next(context);
    });
}

/// <summary>Endpoint metadata: the endpoint waits for start-up itself instead of being answered 503 by the readiness gate.</summary>
internal sealed class WaitsForStartup
{
    public static readonly WaitsForStartup Instance = new();
}
