using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;
using Serilog.Settings.Configuration;

namespace Realtime.Server.Operations;

/// <summary>
/// Serilog to the console: readable text in a terminal, JSON lines otherwise. The logger is owned
/// by this host (never the static Log.Logger), so two servers in one process stay apart. Requests
/// are logged once each by <see cref="RequestLogging"/>, by path only: query strings carry access
/// tokens (<c>access_token</c>) and resume ids, so they never reach a log. ASP.NET's own request
/// logs stay at Warning for the same reason.
/// </summary>
internal static class LoggingSetup
{
    private static readonly ConfigurationReaderOptions SettingsAssemblies =
        new(typeof(ConsoleLoggerConfigurationExtensions).Assembly, typeof(RenderedCompactJsonFormatter).Assembly);

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
                // The sinks' assemblies named, so that start-up does not scan every DLL for Serilog ones (~0.1 s of a restart).
                .ReadFrom.Configuration(configuration, SettingsAssemblies)
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
}
