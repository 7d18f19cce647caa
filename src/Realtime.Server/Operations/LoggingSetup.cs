using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Realtime.Server.Operations;

/// <summary>
/// Serilog to the console: readable text in a terminal, JSON lines otherwise. The logger is owned
/// by this host (never the static Log.Logger), so two servers in one process stay apart. Requests
/// are logged once each by Serilog's request logging, by path only: query strings carry access
/// tokens (<c>access_token</c>) and resume ids, so they never reach a log. ASP.NET's own request
/// logs stay at Warning for the same reason.
/// </summary>
internal static class LoggingSetup
{
    public static WebApplicationBuilder AddLogging(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var console = Console.IsOutputRedirected;
        builder.Logging.ClearProviders();
        // Registers this host's own logger (not Log.Logger) as the ILoggerFactory, Serilog.ILogger and the request
        // logs' DiagnosticContext. Providers registered in DI (none here, a test's log capture) receive every event too.
        builder.Services.AddSerilog((_, logger) =>
        {
            logger.MinimumLevel.Information()
                .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
                .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Information)
                .MinimumLevel.Override("Microsoft.AspNetCore.DataProtection", LogEventLevel.Error)
                // SignalR logs every failed hub invocation at Error, a client's mistake too: Live's HubErrorFilter logs them instead.
                .MinimumLevel.Override("Microsoft.AspNetCore.SignalR.Internal.DefaultHubDispatcher", LogEventLevel.Fatal)
                .ReadFrom.Configuration(configuration)
                .Enrich.FromLogContext();
            if (console)
            {
                logger.WriteTo.Console(new RenderedCompactJsonFormatter());
            }
            else
            {
                logger.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}");
            }
        }, preserveStaticLogger: true, writeToProviders: true);
        CachingLoggerFactory.Decorate(builder.Services);
        return builder;
    }

    /// <summary>One line a request: method, path (no query string), status and time; health probes at Debug.</summary>
    public static IApplicationBuilder UseRequestLogging(this WebApplication app) =>
        app.UseSerilogRequestLogging(options =>
        {
            options.Logger = app.Services.GetRequiredService<Serilog.ILogger>(); // else the static Log.Logger
            options.IncludeQueryInRequestPath = false;
            options.MessageTemplate = "HTTP {RequestMethod:l} {RequestPath:l} responded {StatusCode} in {Elapsed:0.0000} ms";
            options.EnrichDiagnosticContext = (diagnostics, context) => diagnostics.Set("CorrelationId", context.TraceIdentifier);
            options.GetLevel = (context, _, exception) =>
                exception is not null || context.Response.StatusCode >= StatusCodes.Status500InternalServerError ? LogEventLevel.Error
                : context.Request.Path.StartsWithSegments("/health") ? LogEventLevel.Debug
                : LogEventLevel.Information;
        });
}
