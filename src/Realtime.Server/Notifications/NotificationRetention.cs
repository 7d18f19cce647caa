using Dapper;
using Npgsql;
using Realtime.Server.Broadcasts;
using Realtime.Server.Storage;

namespace Realtime.Server.Notifications;

/// <summary>
/// Purges expired notifications (keeping unread counters exact), the contents no notification
/// refers to any more, broadcasts (with their receipts) and idempotency keys past their 24 hours,
/// in small batches. Until a row is purged the queries already treat it as gone.
/// </summary>
/// <remarks>
/// A content loses its last notification when they expire (checked right after they are purged)
/// or when users delete them one by one (found by a sweep that walks the contents in id order, a
/// bounded part per run, and starts over at the end). A content never gains a notification after
/// its own transaction, so one seen without any is gone for good.
/// </remarks>
internal sealed partial class NotificationRetention(
    NpgsqlDataSource dataSource,
    TimeProvider time,
    StartupGate gate,
    ILogger<NotificationRetention> logger) : BackgroundService
{
    /// <summary>Often enough that expired rows never pile up; rarely enough to cost nothing.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(5);

    private const int UsersPerBatch = 500;

    /// <summary>Contents checked per statement, by the post-expiry check and by the sweep.</summary>
    private const int ContentsPerBatch = 1_000;

    /// <summary>The sweep checks at most this many contents per run (a few index probes each), then goes on from there next run.</summary>
    private const int SweptContentsPerRun = 50_000;

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
            RETURNING user_id, content_id, read_at IS NULL AS unread),
        unread AS (
            SELECT user_id, count(*)::int AS n FROM expired WHERE unread GROUP BY user_id),
        counted AS (
            UPDATE user_counters c SET unread = c.unread - unread.n
            FROM unread WHERE c.user_id = unread.user_id)
        SELECT (SELECT count(*) FROM expired)::int AS Deleted, ARRAY(SELECT DISTINCT content_id FROM expired) AS ContentIds
        """;

    /// <summary>
    /// Every notification of content c has an id in [c.id, c.last_id] (migration 0005), so "does
    /// any refer to it" is a range read on the primary key of notifications.
    /// </summary>
    private const string Unreferenced = """
        NOT EXISTS (SELECT 1 FROM notifications n WHERE n.id BETWEEN c.id AND c.last_id AND n.content_id = c.id)
        """;

    private const string DeleteUnreferencedContents = $"""
        DELETE FROM notification_contents c WHERE c.id = ANY(@ContentIds) AND {Unreferenced}
        """;

    /// <summary>The next batch of the sweep: the last id it looked at (null at the end) and how many it deleted.</summary>
    private const string SweepContents = $"""
        WITH batch AS (
            SELECT id FROM notification_contents WHERE id > @After ORDER BY id LIMIT @Batch),
        deleted AS (
            DELETE FROM notification_contents c USING batch
            WHERE c.id = batch.id AND {Unreferenced}
            RETURNING 1)
        SELECT (SELECT max(id) FROM batch) AS LastId, (SELECT count(*) FROM deleted)::int AS Deleted
        """;

    /// <summary>Where the sweep goes on (0: from the start).</summary>
    private long _sweptUpTo;

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

    /// <summary>Purges everything due now; returns the notifications (and broadcasts), contents and keys removed.</summary>
    public async Task<(int Notifications, int Contents, int Keys)> PurgeAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var notifications = 0;
        var contents = 0;
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
            var expired = await connection.QuerySingleAsync<ExpiredBatch>(new CommandDefinition(DeleteExpired,
                new { UserIds = users, Now = now }, transaction, cancellationToken: cancellationToken));
            await transaction.CommitAsync(cancellationToken);
            notifications += expired.Deleted;
            foreach (var chunk in expired.ContentIds.Chunk(ContentsPerBatch))
            {
                contents += await connection.ExecuteAsync(new CommandDefinition(DeleteUnreferencedContents,
                    new { ContentIds = chunk }, cancellationToken: cancellationToken));
            }
        }
        contents += await SweepContentsAsync(cancellationToken);

        notifications += await BroadcastStore.PurgeExpiredAsync(dataSource, now, cancellationToken);
        var keys = await IdempotencyStore.PurgeExpiredAsync(dataSource, now, cancellationToken);

        if (notifications + contents + keys > 0)
        {
            LogPurged(logger, notifications, contents, keys);
        }
        return (notifications, contents, keys);
    }

    /// <summary>Deletes unreferenced contents among the next <see cref="SweptContentsPerRun"/> (fewer at the end of the table, then it starts over).</summary>
    private async Task<int> SweepContentsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var deleted = 0;
        for (var checkedContents = 0; checkedContents < SweptContentsPerRun; checkedContents += ContentsPerBatch)
        {
            var batch = await connection.QuerySingleAsync<SweptBatch>(new CommandDefinition(SweepContents,
                new { After = Interlocked.Read(ref _sweptUpTo), Batch = ContentsPerBatch }, cancellationToken: cancellationToken));
            deleted += batch.Deleted;
            Interlocked.Exchange(ref _sweptUpTo, batch.LastId ?? 0);
            if (batch.LastId is null)
            {
                break;
            }
        }
        return deleted;
    }

    internal sealed class ExpiredBatch
    {
        public int Deleted { get; init; }
        public long[] ContentIds { get; init; } = [];
    }

    internal sealed record SweptBatch(long? LastId, int Deleted);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention purged {Notifications} expired notifications, {Contents} unreferenced contents and {Keys} idempotency keys")]
    private static partial void LogPurged(ILogger logger, int notifications, int contents, int keys);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retention purge failed; retrying at the next interval")]
    private static partial void LogPurgeFailed(ILogger logger, Exception exception);
}
