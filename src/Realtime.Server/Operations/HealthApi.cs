using Microsoft.AspNetCore.Http.HttpResults;
using System.Text.Json.Serialization;
using Dapper;
using Npgsql;
using Realtime.Server.Bus;
using Realtime.Server.Storage;

namespace Realtime.Server.Operations;

internal sealed record HealthReport(
    string Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Postgres,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Redis);

/// <summary><c>/health/live</c> (the process runs) and <c>/health/ready</c> (PostgreSQL answers and start-up is done).</summary>
internal static class HealthApi
{
    public const string Up = "up";
    public const string Down = "down";
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    public static WebApplication MapHealthApi(this WebApplication app)
    {
        var health = app.MapGroup("/health").AllowAnonymous().WithTags("Operations");
        // Live checks nothing but the process itself, so it reports nothing else.
        health.MapGet("/live", () => TypedResults.Ok(new HealthReport("live", null, null)));
        health.MapGet("/ready", ReadyAsync);
        return app;
    }

    /// <summary>
    /// Redis down is reported but keeps 200: the node still serves its own clients and catches up
    /// from PostgreSQL, so an outage must not take every node out of the load balancer.
    /// </summary>
    private static async Task<Results<Ok<HealthReport>, JsonHttpResult<HealthReport>>> ReadyAsync(NpgsqlDataSource dataSource, StartupGate gate, IServiceProvider services, CancellationToken cancellationToken)
    {
        var postgres = await ProbePostgresAsync(dataSource, cancellationToken) ? Up : Down;
        var redis = services.GetService<RedisBus>() is { } bus ? (bus.IsConnected ? Up : Down) : null;
        var ready = postgres == Up && gate.IsOpen;
        var report = new HealthReport(ready ? "ready" : "not ready", postgres, redis);
        return ready ? TypedResults.Ok(report) : TypedResults.Json(report, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    private static async Task<bool> ProbePostgresAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ProbeTimeout);
            await using var connection = await dataSource.OpenConnectionAsync(timeout.Token);
            await connection.ExecuteScalarAsync<int>(new CommandDefinition("SELECT 1", cancellationToken: timeout.Token));
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
