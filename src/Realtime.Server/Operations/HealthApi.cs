using System.Text.Json.Serialization;
using Dapper;
using Npgsql;
using Realtime.Server.Storage;

namespace Realtime.Server.Operations;

internal sealed record HealthReport(
    string Status,
    string Postgres,
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
        health.MapGet("/live", () => TypedResults.Ok(new HealthReport("live", Up, null)));
        health.MapGet("/ready", ReadyAsync);
        return app;
    }

    private static async Task<IResult> ReadyAsync(NpgsqlDataSource dataSource, StartupGate gate, CancellationToken cancellationToken)
    {
        var postgres = await ProbePostgresAsync(dataSource, cancellationToken) ? Up : Down;
        var ready = postgres == Up && gate.IsOpen;
        var report = new HealthReport(ready ? "ready" : "not ready", postgres, null);
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
