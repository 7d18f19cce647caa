using Dapper;
using Npgsql;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Push;
using Realtime.Server.Storage;

namespace Realtime.IntegrationTests.Push;

/// <summary>The outbox's record statement on its own: outcomes written per claim, subscriptions touched at most once a minute.</summary>
public sealed class PushRecordTests : IAsyncLifetime
{
    private static readonly DateTime Start = new(2026, 11, 30, 12, 0, 0, DateTimeKind.Utc);

    private TestDatabase _database = null!;
    private NpgsqlDataSource _dataSource = null!;
    private PushOutboxStore _store = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        await using (var connection = await _database.OpenAsync())
        {
            foreach (var migration in DatabaseMigrator.EmbeddedMigrations)
            {
                await connection.ExecuteAsync(migration.Sql);
            }
        }
        _dataSource = NpgsqlDataSource.Create(_database.ConnectionString);
        _store = new PushOutboxStore(_dataSource);
    }

    public async Task DisposeAsync()
    {
        await _dataSource.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task ASubscriptionsLastSuccessAndFailureAreWrittenAtMostOnceAMinuteWhileEveryJobIsRecorded()
    {
        var subscription = await SubscriptionAsync();
        var jobs = new List<ClaimedJob>();
        for (var i = 0; i < 5; i++)
        {
            jobs.Add(await ClaimedJobAsync(subscription, notificationId: i + 1));
        }
        var sent = new PushOutcome(PushJobState.Sent, 201, null, Attempted: true);
        var retry = new PushOutcome(PushJobState.Queued, 503, "push service answered 503", Attempted: true, RetryAt: Start.AddHours(1));

        Assert.Equal(1, await _store.RecordAsync([(jobs[0], sent)], Start, CancellationToken.None));
        Assert.Equal((Start, (DateTime?)null), await TimesAsync(subscription));

        // 30 s later: a success within the minute leaves the time; the first failure is written.
        Assert.Equal(2, await _store.RecordAsync([(jobs[1], sent), (jobs[2], retry)], Start.AddSeconds(30), CancellationToken.None));
        Assert.Equal((Start, (DateTime?)Start.AddSeconds(30)), await TimesAsync(subscription));

        // A minute after the first: the success time moves on, the failure (within its minute) does not.
        Assert.Equal(2, await _store.RecordAsync([(jobs[3], sent), (jobs[4], retry)], Start.AddSeconds(61), CancellationToken.None));
        Assert.Equal((Start.AddSeconds(61), (DateTime?)Start.AddSeconds(30)), await TimesAsync(subscription));

        await using var connection = await _database.OpenAsync();
        var states = (await connection.QueryAsync<string>("SELECT state FROM push_jobs ORDER BY id")).ToList();
        Assert.Equal(["sent", "sent", "queued", "sent", "queued"], states);
    }

    private async Task<long> SubscriptionAsync()
    {
        await using var connection = await _database.OpenAsync();
        return await connection.ExecuteScalarAsync<long>("""
            INSERT INTO push_subscriptions (endpoint, user_id, p256dh, auth, created_at, subscribed_at)
            VALUES ('https://push.example/1', 'ann', 'p', 'a', @Start, @Start) RETURNING id
            """, new { Start });
    }

    private async Task<ClaimedJob> ClaimedJobAsync(long subscription, long notificationId)
    {
        await using var connection = await _database.OpenAsync();
        var id = await connection.ExecuteScalarAsync<long>("""
            INSERT INTO push_jobs (notification_id, subscription_id, user_id, state, claims, due_at, expires_at, created_at, updated_at)
            VALUES (@NotificationId, @Subscription, 'ann', 'queued', 1, @Start, @Expires, @Start, @Start) RETURNING id
            """, new { NotificationId = notificationId, Subscription = subscription, Start, Expires = Start.AddDays(1) });
        return new ClaimedJob { Id = id, NotificationId = notificationId, SubscriptionId = subscription, UserId = "ann", Claims = 1, ExpiresAt = Start.AddDays(1) };
    }

    private async Task<(DateTime? Success, DateTime? Failure)> TimesAsync(long subscription)
    {
        await using var connection = await _database.OpenAsync();
        var times = await connection.QuerySingleAsync<(DateTime? Success, DateTime? Failure)>(
            "SELECT last_success_at, last_failure_at FROM push_subscriptions WHERE id = @Subscription", new { Subscription = subscription });
        return (times.Success?.ToUniversalTime(), times.Failure?.ToUniversalTime());
    }
}
