namespace Realtime.Server.Storage;

/// <summary>
/// Applies migrations, then every <see cref="IStartupTask"/> (concurrently: none depends on another), retrying while PostgreSQL is
/// unreachable, then opens the <see cref="StartupGate"/>. A schema newer than this build stops
/// the process: running old code on a new schema could corrupt data.
/// </summary>
internal sealed partial class StartupTasks(
    DatabaseMigrator migrator,
    IEnumerable<IStartupTask> tasks,
    StartupGate gate,
    IHostApplicationLifetime lifetime,
    ILogger<StartupTasks> logger) : BackgroundService
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await migrator.MigrateAsync(stoppingToken);
                // Independent of each other (each needs only the migrated schema), so they run together: no order to get wrong.
                await Task.WhenAll(tasks.Select(task => task.RunAsync(stoppingToken)));
                gate.Open();
                LogReady(logger);
                return;
            }
            catch (SchemaTooNewException ex)
            {
                LogSchemaTooNew(logger, ex.DatabaseVersion, ex.CodeVersion);
                Environment.ExitCode = 1;
                lifetime.StopApplication();
                return;
            }
            catch (Exception ex) when (DatabaseErrors.IsUnavailable(ex) && !stoppingToken.IsCancellationRequested)
            {
                LogDatabaseUnavailable(logger, ex.Message);
                await Task.Delay(RetryDelay, stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // Anything else is a bug or a broken database: stop with a failing exit code, so a
                // supervisor sees it, rather than serve without ever becoming ready.
                LogStartupFailed(logger, ex);
                Environment.ExitCode = 1;
                lifetime.StopApplication();
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Start-up done: migrations applied, node ready")]
    private static partial void LogReady(ILogger logger);

    [LoggerMessage(Level = LogLevel.Critical, Message = "The database schema is at version {DatabaseVersion}, newer than this server ({CodeVersion}); refusing to start")]
    private static partial void LogSchemaTooNew(ILogger logger, int databaseVersion, int codeVersion);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Start-up failed; stopping")]
    private static partial void LogStartupFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "PostgreSQL unavailable during start-up, retrying: {Reason}")]
    private static partial void LogDatabaseUnavailable(ILogger logger, string reason);
}
