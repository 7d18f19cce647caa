using System.ComponentModel.DataAnnotations;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.OpenApi;
using Npgsql;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Realtime.Server.Bus;
using Realtime.Server.Live;

namespace Realtime.Server.Observability;

internal sealed class MetricsOptions
{
    public const string SectionName = "Metrics";

    /// <summary><c>false</c> removes <c>GET /metrics</c> (OTLP export, when configured, goes on).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>When set, <c>/metrics</c> asks for a token with this role instead of being anonymous.</summary>
    public string? RequireRole { get; set; }

    /// <summary>When set, <c>/metrics</c> answers only on this port (which the node must also listen on).</summary>
    [Range(1, 65535)]
    public int? Port { get; set; }
}

/// <summary>
/// OpenTelemetry metrics: Realtime's own meter, ASP.NET Core, Kestrel, SignalR connections, the .NET
/// runtime and Npgsql. Exported as Prometheus text at <c>GET /metrics</c>, and over OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the exporter reads the standard OTEL_* variables).
/// </summary>
internal static class MetricsSetup
{
    public const string Path = "/metrics";
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>OpenTelemetry's middleware for <c>error.type</c> on 5xx answers (replaced by <see cref="Operations.RequestLogging"/>).</summary>
    internal const string OpenTelemetryErrorTypeFilter = "OpenTelemetry.Instrumentation.AspNetCore.Implementation.HttpServerErrorTypeStartupFilter";

    public static WebApplicationBuilder AddObservability(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<MetricsOptions>().BindConfiguration(MetricsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<RealtimeMetrics>();
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointVariable]);
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("realtime", autoGenerateServiceInstanceId: false)
                .AddDetector(services => new NodeResource(services.GetRequiredService<NodeIdentity>())))
            .WithMetrics(metrics =>
            {
                // OpenTelemetry listens to meters by name across the process: a node exports only
                // the instruments of its own meter factory (several nodes run in one test process).
                ((IDeferredMeterProviderBuilder)metrics).Configure((services, builder) =>
                {
                    var own = services.GetRequiredService<IMeterFactory>();
                    builder.AddView(instrument =>
                        instrument.Meter.Scope is IMeterFactory factory && !ReferenceEquals(factory, own) ? MetricStreamConfiguration.Drop : null);
                });
                metrics.AddMeter(RealtimeMetrics.MeterName)
                    .AddAspNetCoreInstrumentation()
                    .AddMeter("Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Http.Connections", "Microsoft.AspNetCore.SignalR")
                    .AddRuntimeInstrumentation()
                    .AddNpgsqlInstrumentation()
                    .AddPrometheusExporter();
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            });
        builder.AddTracing(otlp);
        // Its middleware tags 5xx answers with error.type from a frame that every request, hub
        // connections included, keeps for its whole life; RequestLogging tags them in its own.
        foreach (var filter in builder.Services.Where(IsOpenTelemetryErrorTypeFilter).ToList())
        {
            builder.Services.Remove(filter);
        }
        builder.Services.Configure<OpenApiOptions>("v1", openApi => openApi.AddDocumentTransformer<MetricsDocumentation>());
        // Hosted services start in order: this one after OpenTelemetry's, whose listeners are then on.
        builder.Services.AddHostedService<SeriesInitializer>();
        return builder;
    }

    internal static bool IsOpenTelemetryErrorTypeFilter(ServiceDescriptor service) =>
        service.ServiceType == typeof(IStartupFilter) && service.ImplementationType?.FullName == OpenTelemetryErrorTypeFilter;

    /// <summary>Gauges read at collection time, and <c>GET /metrics</c>.</summary>
    public static WebApplication MapObservability(this WebApplication app)
    {
        var metrics = app.Services.GetRequiredService<RealtimeMetrics>();
        var registry = app.Services.GetRequiredService<ConnectionRegistry>();
        var bus = app.Services.GetRequiredService<IMessageBus>();
        registry.Added += connection => metrics.ConnectionOpened(connection.Transport);
        registry.Removed += connection => metrics.ConnectionClosed(connection.Transport, connection.FellBehind);
        metrics.Meter.CreateObservableGauge("realtime.connection.queue.messages", () => registry.All.Sum(c => (long)c.QueuedCount),
            "{message}", "Messages waiting in this node's connection queues (all connections).");
        metrics.Meter.CreateObservableGauge("realtime.connection.queue.max_messages", () => registry.All.Select(c => (long)c.QueuedCount).DefaultIfEmpty().Max(),
            "{message}", "The longest connection queue on this node.");
        metrics.Meter.CreateObservableGauge("realtime.connection.queue.bytes", () => registry.All.Sum(c => c.QueuedBytes),
            "By", "Payload bytes waiting in this node's connection queues.");
        metrics.Meter.CreateObservableGauge("realtime.bus.connected", () => bus.IsConnected ? 1 : 0,
            null, "1 while the bus (Redis) is connected; the in-process bus of a single node is always 1.");
        var outbox = app.Services.GetRequiredService<Push.PushOutboxDepth>();
        metrics.Meter.CreateObservableGauge("realtime.push.outbox.depth", outbox.Current,
            "{job}", "Web Push jobs queued (due or waiting for a retry), all nodes; counted at most every 5 s.");

        var options = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<MetricsOptions>>().Value;
        if (!options.Enabled)
        {
            return app;
        }
        var endpoint = app.MapPrometheusScrapingEndpoint(Path);
        if (string.IsNullOrWhiteSpace(options.RequireRole))
        {
            endpoint.AllowAnonymous();
        }
        else
        {
            endpoint.RequireAuthorization(policy => policy.RequireAuthenticatedUser().RequireRole(options.RequireRole));
        }
        if (options.Port is { } port)
        {
            endpoint.RequireHost($"*:{port}");
        }
        return app;
    }

    private sealed class SeriesInitializer(RealtimeMetrics metrics) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            metrics.InitializeSeries();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
