using Dapper;
using Npgsql;
using Realtime.Server.Broadcasts;
using Realtime.Server.Storage;

namespace Realtime.Server.Notifications;

/// <summary>
/// Purges expired notifications (keeping unread counters exact) and broadcasts (with their receipts) and idempotency keys past their
/// 24 hours, in small batches. Until a row is purged the queries already treat it as gone.
/// </summary>
internal sealed partial class NotificationRetention(
    NpgsqlDataSource dataSource,
    TimeProvider time,
    StartupGate gate,
    ILogger<NotificationRetention> logger) : BackgroundService
{
    /// <summary>Often enough that expired rows never pile up; rarely enough to cost nothing.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(5);

    private const int UsersPerBatch = 500;

    // Counter rows are locked first, in user order, like every other change of read state, so
    // the purge cannot deadlock with a user's read or delete.
    private const string LockExpiringUsers = """
        SELECT user_id FROM user_counters
        WHERE user_id IN (SELECT DISTINCT user_id FROM notifications WHERE expires_at <= @Now LIMIT @Users)
        ORDER BY user_id
        FOR UPDATE
        """;

    private const string DeleteExpired = """
        WITH expired AS (
            DELETE FROM notifications
            WHERE user_id = ANY(@UserIds) AND expires_at <= @Now
            RETURNING user_id, read_at IS NULL AS unread),
        unread AS (
            SELECT user_id, count(*)::int AS n FROM expired WHERE unread GROUP BY user_id),
        counted AS (
            UPDATE user_counters c SET unread = c.unread - unread.n
            FROM unread WHERE c.user_id = unread.user_id)
        SELECT count(*)::int FROM expired
        """;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await gate.WhenOpen.WaitAsync(stoppingToken);
            using var timer = new PeriodicTimer(Interval, time);
            do
            {
                try
                {
                    await PurgeAsync(stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    LogPurgeFailed(logger, ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Purges everything due now; returns the notifications and keys removed.</summary>
    public async Task<(int Notifications, int Keys)> PurgeAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var notifications = 0;
        while (true)
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var users = (await connection.QueryAsync<string>(new CommandDefinition(LockExpiringUsers,
                new { Now = now, Users = UsersPerBatch }, transaction, cancellationToken: cancellationToken))).ToArray();
            if (users.Length == 0)
            {
                break;
            }
            notifications += await connection.ExecuteScalarAsync<int>(new CommandDefinition(DeleteExpired,
                new { UserIds = users, Now = now }, transaction, cancellationToken: cancellationToken));
            await transaction.CommitAsync(cancellationToken);
        }

        notifications += await BroadcastStore.PurgeExpiredAsync(dataSource, now, cancellationToken);
        var keys = await IdempotencyStore.PurgeExpiredAsync(dataSource, now, cancellationToken);

        if (notifications + keys > 0)
        {
            LogPurged(logger, notifications, keys);
        }
        return (notifications, keys);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention purged {Notifications} expired notifications and {Keys} idempotency keys")]
    private static partial void LogPurged(ILogger logger, int notifications, int keys);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retention purge failed; retrying at the next interval")]
    private static partial void LogPurgeFailed(ILogger logger, Exception exception);
}
