using Serilog;
using Serilog.Events;
using Serilog.Formatting.Json;

namespace Realtime.Server.Operations;

/// <summary>
/// Serilog to the console: readable text in a terminal, JSON lines otherwise. The logger is owned
/// by this host (never the static Log.Logger), so two servers in one process stay apart. ASP.NET's
/// own request logs stay at Warning: they would print query strings, and with them access tokens.
/// </summary>
internal static class LoggingSetup
{
    public static WebApplicationBuilder AddLogging(this WebApplicationBuilder builder)
    {
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Information)
            .MinimumLevel.Override("Microsoft.AspNetCore.DataProtection", LogEventLevel.Error)
            .ReadFrom.Configuration(builder.Configuration)
            .Enrich.FromLogContext();

        configuration = Console.IsOutputRedirected
            ? configuration.WriteTo.Console(new JsonFormatter(renderMessage: true))
            : configuration.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}");

        builder.Logging.ClearProviders();
        builder.Logging.AddSerilog(configuration.CreateLogger(), dispose: true);
        return builder;
    }
}
