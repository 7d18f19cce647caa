using Realtime.Server.Storage;

namespace Realtime.Server.Operations;

/// <summary>Until start-up is done (migrations, sequencer position), the API and hub answer 503.</summary>
internal static class Readiness
{
    public static IApplicationBuilder UseReadinessGate(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var gate = context.RequestServices.GetRequiredService<StartupGate>();
        if (!gate.IsOpen && (context.Request.Path.StartsWithSegments("/api") || context.Request.Path.StartsWithSegments("/hubs")))
        {
            await ExceptionHandling.ServiceUnavailable(context, "The server is starting.");
            return;
        }
        await next(context);
    });
}
