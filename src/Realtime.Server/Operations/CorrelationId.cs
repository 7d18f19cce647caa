using Microsoft.AspNetCore.Http.Features;
using Realtime.Server.Observability;
using System.Text.RegularExpressions;

namespace Realtime.Server.Operations;

/// <summary>Echoes the caller's <c>X-Correlation-ID</c> (or a new one) and puts it on every log line of the request.</summary>
internal static partial class CorrelationId
{
    public const string HeaderName = "X-Correlation-ID";

    public static IApplicationBuilder UseCorrelationId(this IApplicationBuilder app)
    {
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Realtime.Request");
        return app.Use(async (context, next) =>
        {
            var given = context.Request.Headers[HeaderName].ToString();
            var id = SafeId().IsMatch(given) ? given : Guid.NewGuid().ToString("N");
            context.TraceIdentifier = id;
            context.Response.Headers[HeaderName] = id;
            // On the request's span (ASP.NET Core's), so a trace can be found from the id a caller logged.
            context.Features.Get<IHttpActivityFeature>()?.Activity.SetTag(RealtimeTracing.CorrelationIdTag, id);
            using (logger.BeginScope(new Dictionary<string, object> { ["CorrelationId"] = id }))
            {
                await next(context);
            }
        });
    }

    /// <summary>Only short, printable ids are echoed, so a header cannot inject into logs or responses.</summary>
    [GeneratedRegex("^[A-Za-z0-9._:-]{1,100}$")]
    private static partial Regex SafeId();
}
