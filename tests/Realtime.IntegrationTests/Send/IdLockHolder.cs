using Dapper;
using Npgsql;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Storage;

namespace Realtime.IntegrationTests.Send;

/// <summary>Holds the id allocation lock in a transaction of its own, so that sends line up behind it.</summary>
internal sealed class IdLockHolder : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;

    private IdLockHolder(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        _connection = connection;
        _transaction = transaction;
    }

    public static async Task<IdLockHolder> HoldAsync(TestDatabase database)
    {
        var connection = await database.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await connection.ExecuteAsync("SELECT pg_advisory_xact_lock(@Key)", new { Key = AdvisoryLocks.NotificationIds }, transaction);
        return new IdLockHolder(connection, transaction);
    }

    /// <summary>Until a committing transaction waits for the lock.</summary>
    public Task WaitUntilWaitedForAsync(TimeSpan timeout) => Eventually.WaitUntilAsync(
        () => _connection.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted)"),
        waiting => waiting, timeout, "a transaction waiting for the id lock");

    public Task ReleaseAsync() => _transaction.CommitAsync();

    public async ValueTask DisposeAsync()
    {
        await _transaction.DisposeAsync();
        await _connection.DisposeAsync();
    }
}
