using Realtime.Server.Storage;

namespace Realtime.Server.Operations;

/// <summary>
/// Until start-up is done (migrations, sequencer position), the API answers 503, except an endpoint
/// marked <see cref="WaitsForStartup"/> (the SSE stream: EventSource gives up for good on any answer
/// but 200, so it waits for start-up itself). A hub connection (negotiate or WebSocket) waits for
/// start-up up to <see cref="HubWaitForStartup"/> before it is answered 503: a restarted node's
/// reconnecting clients then ask once and are served as soon as it is ready, instead of retrying
/// every few hundred milliseconds (a reconnect storm of 503s that takes the CPU start-up needs).
/// </summary>
internal static class Readiness
{
    /// <summary>How long a hub request waits for start-up before it is answered 503.</summary>
    internal static readonly TimeSpan HubWaitForStartup = TimeSpan.FromSeconds(10);

    /// <remarks>
    /// Not async: it returns the next step's task, so a long-lived request (a hub connection, an
    /// SSE stream) does not keep a frame of this middleware alive.
    /// </remarks>
    public static IApplicationBuilder UseReadinessGate(this IApplicationBuilder app) => app.Use(next => context =>
    {
        var gate = context.RequestServices.GetRequiredService<StartupGate>();
        if (gate.IsOpen || context.GetEndpoint()?.Metadata.GetMetadata<WaitsForStartup>() is not null)
        {
            return next(context);
        }
        var path = context.Request.Path;
        if (path.StartsWithSegments("/hubs"))
        {
            return WaitThenAsync(context, gate, next);
        }
        return path.StartsWithSegments("/api") ? ExceptionHandling.ServiceUnavailable(context, "The server is starting.") : next(context);
    });

    /// <remarks>Holds a frame for the life of the connection, but only for those that arrived while the node started.</remarks>
    private static async Task WaitThenAsync(HttpContext context, StartupGate gate, RequestDelegate next)
    {
        try
        {
            await gate.WhenOpen.WaitAsync(HubWaitForStartup, context.RequestAborted);
        }
        catch (TimeoutException)
        {
            await ExceptionHandling.ServiceUnavailable(context, "The server is starting.");
            return;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return; // the client went away while waiting
        }
        await next(context);
    }
}

/// <summary>Endpoint metadata: the endpoint waits for start-up itself instead of being answered 503 by the readiness gate.</summary>
internal sealed class WaitsForStartup
{
    public static readonly WaitsForStartup Instance = new();
}
