using Realtime.Server.Live;
using Realtime.Server.Storage;

namespace Realtime.Server.Operations;

/// <summary>
/// Until start-up is done (migrations, sequencer position), the API and hub answer 503. An SSE
/// stream waits instead: EventSource gives up for good on any answer but 200, so a browser that
/// reconnects while a node restarts must not see a 503.
/// </summary>
internal static class Readiness
{
    /// <summary>How long a stream request waits for start-up before it is told to retry.</summary>
    private static readonly TimeSpan StreamWaitForStartup = TimeSpan.FromSeconds(20);

    public static IApplicationBuilder UseReadinessGate(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var gate = context.RequestServices.GetRequiredService<StartupGate>();
        var path = context.Request.Path;
        if (!gate.IsOpen && path.StartsWithSegments(SseApi.Path))
        {
            try
            {
                await gate.WhenOpen.WaitAsync(StreamWaitForStartup, context.RequestAborted);
            }
            catch (TimeoutException)
            {
                // Still starting: a well-formed, empty stream that asks EventSource to come back.
                context.Response.ContentType = "text/event-stream";
                await context.Response.Body.WriteAsync(SseLiveConnection.Preamble, context.RequestAborted);
                return;
            }
        }
        else if (!gate.IsOpen && (path.StartsWithSegments("/api") || path.StartsWithSegments("/hubs")))
        {
            await ExceptionHandling.ServiceUnavailable(context, "The server is starting.");
            return;
        }
        await next(context);
    });
}
