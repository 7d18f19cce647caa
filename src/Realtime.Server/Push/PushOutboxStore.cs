using Dapper;
using Npgsql;
using Realtime.Server.Contracts;
using Realtime.Server.Notifications;

namespace Realtime.Server.Push;

/// <summary>A push job claimed by this node, with its subscription and notification as they are now (null when gone).</summary>
internal sealed class ClaimedJob
{
    public long Id { get; init; }
    public long NotificationId { get; init; }
    public long SubscriptionId { get; init; }
    public string UserId { get; init; } = "";
    public int Attempts { get; init; }
    public bool Reduced { get; init; }
    public int Claims { get; init; }
    public DateTime ExpiresAt { get; init; }

    public string? Endpoint { get; init; }
    public string? P256dh { get; init; }
    public string? Auth { get; init; }
    public string? SubscriptionUserId { get; init; }

    /// <summary>The notification as it is now, read like the inbox reads it; null when it was deleted.</summary>
    public NotificationRow? Notification { get; set; }
}

/// <summary>
/// The push outbox in PostgreSQL: the planner's cursor and the jobs it writes, and the workers'
/// claims and results. Planning happens under the cursor row's lock, so one node plans each
/// notification once; jobs are unique per notification and subscription besides.
/// </summary>
internal sealed class PushOutboxStore(NpgsqlDataSource dataSource)
{
    /// <summary>Nodes' clocks agree to well within this (NTP); a notification stamped further ahead is planned at once.</summary>
    private static readonly TimeSpan MaxClockSkew = TimeSpan.FromSeconds(5);

    /// <summary>The outbox depth: jobs waiting to be sent (due now or retrying later); uses the partial index push_jobs_due.</summary>
    private const string CountQueued = "SELECT count(*) FROM push_jobs WHERE state = 'queued'";

    /// <summary>Another node planning right now holds it: this node skips the round.</summary>
    private const string LockCursor = "SELECT last_id FROM push_planner WHERE id = 1 FOR UPDATE SKIP LOCKED";

    /// <summary>
    /// Ids grow in commit order (allocated under a lock held until commit), so every id below the
    /// highest one read here is settled: committed, or rolled back and never coming. The cursor may
    /// move up to any id read, never past: ids above it may belong to transactions in flight.
    /// </summary>
    private const string ReadNext = """
        SELECT id, created_at FROM notifications WHERE id > @After ORDER BY id LIMIT @Limit
        """;

    /// <summary>
    /// Every subscription of every recipient who had no live connection (hub or SSE, any node)
    /// when the notification was committed, read from the presence records: a connection opened
    /// before and not closed before it, whose node was alive. Read, expired and deleted
    /// notifications are not planned; broadcasts are not in this table. The user's preferences
    /// then decide, per row, whether and when (<see cref="InsertJobs"/>).
    /// </summary>
    private const string SelectTargets = """
        SELECT n.id AS NotificationId, n.user_id AS UserId, nc.category AS Category, nc.priority AS Priority,
               s.id AS SubscriptionId, COALESCE(n.expires_at, n.created_at + @MaxAge) AS ExpiresAt
        FROM notifications n
        JOIN notification_contents nc ON nc.id = n.content_id
        JOIN push_subscriptions s ON s.user_id = n.user_id AND (s.expires_at IS NULL OR s.expires_at > @Now)
        WHERE n.id > @After AND n.id <= @UpTo AND n.read_at IS NULL AND (n.expires_at IS NULL OR n.expires_at > @Now)
          AND NOT EXISTS (
            SELECT 1 FROM connections c LEFT JOIN nodes nd ON nd.id = c.node_id
            WHERE c.user_id = n.user_id AND c.connected_at <= n.created_at
              AND (c.disconnected_at > n.created_at OR (c.disconnected_at IS NULL AND nd.last_heartbeat >= @Cutoff)))
        """;

    /// <summary>One job per planned row, due now or, held by quiet hours, when they end.</summary>
    private const string InsertJobs = """
        INSERT INTO push_jobs (notification_id, subscription_id, user_id, state, due_at, expires_at, last_error, created_at, updated_at)
        SELECT t.notification_id, t.subscription_id, t.user_id, 'queued', t.due_at, t.expires_at,
               CASE WHEN t.due_at > @Now THEN @HeldNote END, @Now, @Now
        FROM unnest(@NotificationIds::bigint[], @SubscriptionIds::bigint[], @UserIds::text[], @DueAts::timestamptz[], @ExpiresAts::timestamptz[])
            AS t(notification_id, subscription_id, user_id, due_at, expires_at)
        ON CONFLICT (notification_id, subscription_id) DO NOTHING
        """;

    /// <summary>A subscription's last success and failure times are kept to this precision (one write per subscription per minute at most).</summary>
    public static readonly TimeSpan SubscriptionTouchInterval = TimeSpan.FromMinutes(1);

    private const string MoveCursor = "UPDATE push_planner SET last_id = @UpTo WHERE id = 1";

    /// <summary>
    /// Claims due jobs: the lease is written into due_at (a claimed job is not due again until it
    /// ends) and claims counts up, so a result is only recorded by the claim it belongs to.
    /// </summary>
    private const string Claim = $"""
        WITH due AS (
            SELECT id FROM push_jobs
            WHERE state = 'queued' AND due_at <= @Now
            ORDER BY due_at
            LIMIT @Limit
            FOR UPDATE SKIP LOCKED),
        claimed AS (
            UPDATE push_jobs j SET due_at = @LeaseUntil, claims = j.claims + 1, claimed_by = @NodeId, updated_at = @Now
            FROM due WHERE j.id = due.id
            RETURNING j.id, j.notification_id, j.subscription_id, j.user_id, j.attempts, j.reduced, j.claims, j.expires_at)
        SELECT j.id, j.notification_id, j.subscription_id, j.user_id, j.attempts, j.reduced, j.claims, j.expires_at,
               s.endpoint, s.p256dh, s.auth, s.user_id AS subscription_user_id,
               {NotificationRow.Columns}
        FROM claimed j
        LEFT JOIN push_subscriptions s ON s.id = j.subscription_id
        LEFT JOIN ({NotificationRow.Source}) ON n.id = j.notification_id
        """;

    /// <summary>
    /// Outcomes of several jobs and what they say about their subscriptions, in one statement (one
    /// short transaction). A job is only written by the claim it belongs to; each subscription is
    /// touched once (deleted when gone, else its last success and/or failure time), and only when
    /// that time moves by more than <see cref="SubscriptionTouchInterval"/>: a subscription pushed
    /// many times a second is not rewritten for each push.
    /// </summary>
    private const string Record = """
        WITH r AS (
            SELECT * FROM unnest(@Ids::bigint[], @Claims::int[], @SubscriptionIds::bigint[], @States::text[], @Statuses::int[],
                                 @Errors::text[], @Attempted::int[], @RetryAts::timestamptz[], @Reduced::boolean[])
                AS r(id, claims, subscription_id, state, status, error, attempted, retry_at, reduced)),
        job AS (
            UPDATE push_jobs j SET
                state = r.state, status = COALESCE(r.status, j.status), last_error = r.error,
                attempts = j.attempts + r.attempted, reduced = r.reduced,
                due_at = COALESCE(r.retry_at, j.due_at), claimed_by = NULL, updated_at = @Now,
                sent_at = CASE WHEN r.state = 'sent' THEN @Now ELSE j.sent_at END
            FROM r WHERE j.id = r.id AND j.claims = r.claims
            RETURNING j.id),
        subs AS (
            SELECT subscription_id,
                   bool_or(state = 'gone') AS gone,
                   bool_or(state = 'sent') AS succeeded,
                   bool_or(attempted = 1 AND state NOT IN ('sent', 'gone')) AS failed
            FROM r GROUP BY subscription_id),
        touched AS (
            UPDATE push_subscriptions s SET
                last_success_at = CASE WHEN subs.succeeded AND (s.last_success_at IS NULL OR s.last_success_at <= @TouchedBefore) THEN @Now ELSE s.last_success_at END,
                last_failure_at = CASE WHEN subs.failed AND (s.last_failure_at IS NULL OR s.last_failure_at <= @TouchedBefore) THEN @Now ELSE s.last_failure_at END
            FROM subs WHERE s.id = subs.subscription_id AND NOT subs.gone
              AND ((subs.succeeded AND (s.last_success_at IS NULL OR s.last_success_at <= @TouchedBefore))
                OR (subs.failed AND (s.last_failure_at IS NULL OR s.last_failure_at <= @TouchedBefore)))
            RETURNING 1),
        gone AS (
            DELETE FROM push_subscriptions s USING subs WHERE s.id = subs.subscription_id AND subs.gone
            RETURNING 1)
        SELECT count(*) FROM job
        """;

    /// <summary>Hands a claimed job back unattempted (shutdown, no free slot for its host in time).</summary>
    private const string Release = """
        UPDATE push_jobs SET due_at = @Now, claimed_by = NULL, updated_at = @Now WHERE id = @Id AND claims = @Claims
        """;

    private const string PurgeFinished = """
        DELETE FROM push_jobs
        WHERE ctid IN (SELECT ctid FROM push_jobs WHERE state <> 'queued' AND updated_at < @Before LIMIT @Batch)
        """;

    /// <summary>Subscriptions past the expirationTime their browser gave are never pushed to again.</summary>
    private const string PurgeExpiredSubscriptions = """
        DELETE FROM push_subscriptions
        WHERE ctid IN (SELECT ctid FROM push_subscriptions WHERE expires_at < @Now LIMIT @Batch)
        """;

    /// <summary>
    /// Plans the next settled notifications (committed at least <paramref name="settledBefore"/>),
    /// at most <paramref name="limit"/>. Returns null when another node is planning; otherwise the
    /// jobs written, whether more may be waiting right away, and when the oldest unsettled one settles.
    /// </summary>
    public async Task<PlanResult?> PlanAsync(DateTime now, DateTime settledBefore, DateTime presenceCutoff, TimeSpan maxAge, int limit, PushSchedule schedule, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var cursor = await connection.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(LockCursor, transaction: transaction, cancellationToken: cancellationToken));
        if (cursor is not { } after)
        {
            return null;
        }
        var next = (await connection.QueryAsync<(long Id, DateTime CreatedAt)>(new CommandDefinition(ReadNext,
            new { After = after, Limit = limit }, transaction, cancellationToken: cancellationToken))).ToList();
        // A time far ahead of this node's clock is another node's skewed clock: waiting for it would stall planning.
        var settled = next.TakeWhile(n => n.CreatedAt <= settledBefore || n.CreatedAt > now + MaxClockSkew).ToList();
        DateTime? nextSettles = settled.Count < next.Count ? next[settled.Count].CreatedAt : null;
        if (settled.Count == 0)
        {
            await transaction.CommitAsync(cancellationToken);
            return new PlanResult(after, 0, More: false, nextSettles);
        }

        var upTo = settled[^1].Id;
        var targets = (await connection.QueryAsync<PushTarget>(new CommandDefinition(SelectTargets, new
        {
            After = after,
            UpTo = upTo,
            Now = now,
            Cutoff = presenceCutoff,
            MaxAge = maxAge,
        }, transaction, cancellationToken: cancellationToken))).ToList();
        var decisions = await schedule.DecideAsync(targets.Select(t => (t.UserId, t.Category, t.Priority)).ToList(), now, cancellationToken);
        // Push off for the category: no job. Held past the notification's expiry: it would only expire.
        var planned = targets.Select((target, i) => (Target: target, Due: decisions[i].HoldUntil ?? now))
            .Where((p, i) => !decisions[i].Never && p.Due < p.Target.ExpiresAt).ToList();
        var jobs = planned.Count == 0 ? 0 : await connection.ExecuteAsync(new CommandDefinition(InsertJobs, new
        {
            Now = now,
            HeldNote = PushOutcome.HeldNote,
            NotificationIds = planned.Select(p => p.Target.NotificationId).ToArray(),
            SubscriptionIds = planned.Select(p => p.Target.SubscriptionId).ToArray(),
            UserIds = planned.Select(p => p.Target.UserId).ToArray(),
            DueAts = planned.Select(p => p.Due).ToArray(),
            ExpiresAts = planned.Select(p => p.Target.ExpiresAt).ToArray(),
        }, transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(MoveCursor, new { UpTo = upTo }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return new PlanResult(upTo, jobs, More: next.Count == limit && nextSettles is null, nextSettles);
    }

    public async Task<IReadOnlyList<ClaimedJob>> ClaimAsync(string nodeId, DateTime now, DateTime leaseUntil, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // The notification's columns start at its own "id" (n.id): null there, no notification.
        var jobs = await connection.QueryAsync<ClaimedJob, NotificationRow, ClaimedJob>(new CommandDefinition(Claim,
            new { NodeId = nodeId, Now = now, LeaseUntil = leaseUntil, Limit = limit }, cancellationToken: cancellationToken),
            (job, notification) =>
            {
                job.Notification = notification;
                return job;
            },
            splitOn: "id");
        return jobs.ToList();
    }

    /// <summary>Records the outcomes; returns how many jobs were still held by their claims (the others' leases had ended).</summary>
    public async Task<long> RecordAsync(IReadOnlyList<(ClaimedJob Job, PushOutcome Outcome)> results, DateTime now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(Record, new
        {
            Ids = results.Select(r => r.Job.Id).ToArray(),
            Claims = results.Select(r => r.Job.Claims).ToArray(),
            SubscriptionIds = results.Select(r => r.Job.SubscriptionId).ToArray(),
            States = results.Select(r => r.Outcome.State).ToArray(),
            Statuses = results.Select(r => r.Outcome.Status).ToArray(),
            Errors = results.Select(r => r.Outcome.Error).ToArray(),
            Attempted = results.Select(r => r.Outcome.Attempted ? 1 : 0).ToArray(),
            // DateTimeOffset: an array of DateTime? mixing nulls and UTC values cannot be sent as timestamptz[].
            RetryAts = results.Select(r => r.Outcome.RetryAt is { } at ? new DateTimeOffset(at) : (DateTimeOffset?)null).ToArray(),
            Reduced = results.Select(r => r.Outcome.Reduced || r.Job.Reduced).ToArray(),
            Now = now,
            TouchedBefore = now - SubscriptionTouchInterval,
        }, cancellationToken: cancellationToken));
    }

    public async Task ReleaseAsync(ClaimedJob job, DateTime now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(Release, new { job.Id, job.Claims, Now = now }, cancellationToken: cancellationToken));
    }

    /// <summary>Deletes a batch of finished jobs older than <paramref name="before"/>, and a batch of expired subscriptions.</summary>
    public async Task<int> PurgeAsync(DateTime now, DateTime before, int batch, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var jobs = await connection.ExecuteAsync(new CommandDefinition(PurgeFinished, new { Before = before, Batch = batch }, cancellationToken: cancellationToken));
        return jobs + await connection.ExecuteAsync(new CommandDefinition(PurgeExpiredSubscriptions, new { Now = now, Batch = batch }, cancellationToken: cancellationToken));
    }

    /// <summary>Jobs still queued (due or pending a retry), for the <c>realtime_push_outbox_depth</c> gauge.</summary>
    public async Task<long> QueuedJobsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(CountQueued, cancellationToken: cancellationToken));
    }
}

/// <summary>A notification and a subscription the planner may write a job for.</summary>
internal sealed class PushTarget
{
    public long NotificationId { get; init; }
    public string UserId { get; init; } = "";
    public string Category { get; init; } = "";
    public string Priority { get; init; } = NotificationPriority.Normal;
    public long SubscriptionId { get; init; }
    public DateTime ExpiresAt { get; init; }
}

/// <summary>One planning round: the cursor after it, the jobs written, and when to look again.</summary>
internal sealed record PlanResult(long LastId, int Jobs, bool More, DateTime? NextSettlesAt);
