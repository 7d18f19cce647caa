using System.Diagnostics;
using Microsoft.AspNetCore.Http.Features;
using Serilog.Core;
using Serilog.Events;

namespace Realtime.Server.Operations;

/// <summary>
/// What every request gets first: its correlation id (<see cref="CorrelationId"/>), a logging scope
/// carrying it to every line logged while it is served, and one line when it ends: method, path (no
/// query string: browsers put <c>access_token</c> there), status and time, at Error for an exception
/// or a 5xx, Debug for <c>/health</c>, Information otherwise.
/// </summary>
/// <remarks>
/// One async frame for all of it, where Serilog's request logging and a correlation middleware were
/// two (with Serilog's diagnostic-context collectors): a hub connection is a request that lasts as
/// long as the connection, so whatever a middleware keeps while it awaits is memory held per
/// connection. The lines keep the category, template and properties Serilog's request logging
/// gave them, so level overrides and log queries written for them still apply.
/// </remarks>
internal sealed class RequestLogging(RequestDelegate next, Serilog.ILogger log, ILogger scopes)
{
    /// <summary>The category of the request lines (Serilog's request logging's, kept for existing level overrides).</summary>
    public const string Category = "Serilog.AspNetCore.RequestLoggingMiddleware";

    private const string ErrorTypeTag = "error.type";

    private const string Template = "HTTP {RequestMethod:l} {RequestPath:l} responded {StatusCode} in {Elapsed:0.0000} ms";

    public async Task InvokeAsync(HttpContext context)
    {
        var id = CorrelationId.Assign(context);
        var started = Stopwatch.GetTimestamp();
        var upgrade = UpgradeRequests.Matches(context);
        using (scopes.BeginScope(new CorrelationId.Scope(id)))
        {
            Exception? answered = null;
            try
            {
                await next(context);
            }
            catch (Exception exception) when (upgrade && !context.Response.HasStarted)
            {
                if (!await UpgradeRequests.AnswerExceptionAsync(context, exception))
                {
                    Completed(context, id, started, exception, StatusCodes.Status500InternalServerError);
                    throw;
                }
                answered = exception;
            }
            catch (Exception exception) when (Completed(context, id, started, exception, StatusCodes.Status500InternalServerError))
            {
                // Completed logs and answers false: the exception goes on, its stack intact.
            }
            if (upgrade)
            {
                await UpgradeRequests.AnswerStatusAsync(context);
            }
            TagServerError(context);
            Completed(context, id, started, answered, context.Response.StatusCode);
        }
    }

    /// <summary>Logs the request's line; false, for an exception filter.</summary>
    private bool Completed(HttpContext context, string id, long started, Exception? exception, int status)
    {
        var level = exception is not null || status >= StatusCodes.Status500InternalServerError ? LogEventLevel.Error
            : context.Request.Path.StartsWithSegments("/health") ? LogEventLevel.Debug
            : LogEventLevel.Information;
        if (log.IsEnabled(level))
        {
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            log.ForContext(CorrelationId.Scope.PropertyName, id)
                .Write(level, exception, Template, context.Request.Method, RequestPath(context), status, elapsed);
        }
        return false;
    }

    /// <summary>
    /// A 5xx answered without an exception gets its status as <c>error.type</c> on ASP.NET Core's
    /// <c>http.server.request.duration</c> (the semantic conventions; ASP.NET Core sets it only for an
    /// exception, and an exception handler's own tag stays). OpenTelemetry's instrumentation does this
    /// in a middleware of its own, removed in <see cref="Observability.MetricsSetup"/>: one frame fewer
    /// held for the life of every hub connection.
    /// </summary>
    private static void TagServerError(HttpContext context)
    {
        var status = context.Response.StatusCode;
        if (status is < 500 or > 599 || context.Features.Get<IHttpMetricsTagsFeature>() is not { } metrics)
        {
            return;
        }
        foreach (var tag in metrics.Tags)
        {
            if (tag.Key == ErrorTypeTag)
            {
                return;
            }
        }
        metrics.Tags.Add(new(ErrorTypeTag, status.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    /// <summary>As Serilog's request logging read it: the path as received, never the query string.</summary>
    private static string RequestPath(HttpContext context) =>
        context.Features.Get<IHttpRequestFeature>()?.Path is { Length: > 0 } path ? path : context.Request.Path.ToString();
}

internal static class RequestLoggingSetup
{
    public static IApplicationBuilder UseRequestLogging(this WebApplication app)
    {
        var log = app.Services.GetRequiredService<Serilog.ILogger>() // this host's own logger, not the static Log.Logger
            .ForContext(Constants.SourceContextPropertyName, RequestLogging.Category);
        var scopes = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Realtime.Request");
        return app.Use(next => new RequestLogging(next, log, scopes).InvokeAsync);
    }
}
