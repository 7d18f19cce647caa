using Npgsql;
using OpenTelemetry.Trace;

namespace Realtime.Server.Observability;

internal sealed class TracingOptions
{
    public const string SectionName = "Tracing";

    /// <summary><c>true</c> writes every finished span to the console (local viewing; noisy).</summary>
    public bool Console { get; set; }

    /// <summary>
    /// <c>true</c> records spans even without an exporter configured here (one added in code, as the
    /// tests do). Tracing is on anyway when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set or <see cref="Console"/> is.
    /// </summary>
    public bool Enabled { get; set; }
}

/// <summary>
/// OpenTelemetry tracing: Realtime's own spans (<see cref="RealtimeTracing"/>), ASP.NET Core's
/// requests, SignalR's hub invocations and Npgsql's commands, exported over OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set and to the console with <c>Tracing__Console=true</c>.
/// Off when neither is set: no span is recorded, and no trace context goes on the bus.
/// </summary>
internal static class TracingSetup
{
    private const string SignalRSource = "Microsoft.AspNetCore.SignalR.Server";

    public static WebApplicationBuilder AddTracing(this WebApplicationBuilder builder, bool otlp)
    {
        var options = builder.Configuration.GetSection(TracingOptions.SectionName).Get<TracingOptions>() ?? new TracingOptions();
        if (!otlp && !options.Console && !options.Enabled)
        {
            return builder;
        }
        builder.Services.AddOpenTelemetry()
            .WithTracing(tracing =>
            {
                tracing.AddSource(RealtimeTracing.SourceName, SignalRSource)
                    .AddAspNetCoreInstrumentation(aspNetCore => aspNetCore.Filter = context =>
                        !context.Request.Path.StartsWithSegments("/health") && !context.Request.Path.StartsWithSegments(MetricsSetup.Path))
                    .AddNpgsql();
                if (otlp)
                {
                    tracing.AddOtlpExporter();
                }
                if (options.Console)
                {
                    tracing.AddConsoleExporter();
                }
            });
        return builder;
    }
}
