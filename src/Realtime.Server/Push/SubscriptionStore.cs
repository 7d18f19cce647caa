using Dapper;
using Npgsql;

namespace Realtime.Server.Push;

/// <summary>A validated browser subscription (<c>PushSubscription.toJSON()</c>).</summary>
internal sealed record PushSubscriptionInput(string Endpoint, DateTime? ExpiresAt, string P256dh, string Auth);

/// <summary>What the subscribe endpoint answers.</summary>
internal sealed record PushSubscriptionResponse(string Endpoint, DateTime? ExpirationTime, DateTime CreatedAt);

/// <summary>
/// Browsers' push subscriptions. An endpoint belongs to one user: posting it again (the same
/// browser after another sign-in) moves it to the caller with the new keys. Each user keeps at
/// most <see cref="PushOptions.MaxSubscriptionsPerUser"/>; the least recently subscribed goes.
/// </summary>
internal sealed class SubscriptionStore(NpgsqlDataSource dataSource, TimeProvider time)
{
    /// <summary>xmax is 0 for a row this statement inserted (the usual "inserted or updated?" test).</summary>
    private const string Upsert = """
        INSERT INTO push_subscriptions AS s (endpoint, user_id, p256dh, auth, expires_at, user_agent, created_at, subscribed_at)
        VALUES (@Endpoint, @UserId, @P256dh, @Auth, @ExpiresAt, @UserAgent, @Now, @Now)
        ON CONFLICT (endpoint) DO UPDATE
            SET user_id = EXCLUDED.user_id, p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth, expires_at = EXCLUDED.expires_at,
                user_agent = EXCLUDED.user_agent, subscribed_at = EXCLUDED.subscribed_at,
                created_at = CASE WHEN s.user_id = EXCLUDED.user_id THEN s.created_at ELSE EXCLUDED.created_at END,
                last_success_at = CASE WHEN s.user_id = EXCLUDED.user_id THEN s.last_success_at END,
                last_failure_at = CASE WHEN s.user_id = EXCLUDED.user_id THEN s.last_failure_at END
        RETURNING (xmax = 0) AS inserted, created_at
        """;

    private const string TrimToCap = """
        DELETE FROM push_subscriptions
        WHERE user_id = @UserId AND id IN (
            SELECT id FROM push_subscriptions WHERE user_id = @UserId
            ORDER BY subscribed_at DESC, id DESC
            OFFSET @Cap)
        """;

    private const string DeleteOwn = "DELETE FROM push_subscriptions WHERE endpoint = @Endpoint AND user_id = @UserId";

    /// <summary>Stores or updates the subscription for <paramref name="userId"/>; true when it is new.</summary>
    public async Task<(bool Created, DateTime CreatedAt)> UpsertAsync(string userId, PushSubscriptionInput subscription, string? userAgent, int cap, CancellationToken cancellationToken)
    {
        var now = Now();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var (created, createdAt) = await connection.QuerySingleAsync<(bool, DateTime)>(new CommandDefinition(Upsert, new
        {
            subscription.Endpoint,
            UserId = userId,
            subscription.P256dh,
            subscription.Auth,
            subscription.ExpiresAt,
            UserAgent = userAgent,
            Now = now,
        }, transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(TrimToCap, new { UserId = userId, Cap = cap }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return (created, createdAt);
    }

    /// <summary>Deletes the caller's subscription with this endpoint; someone else's stays.</summary>
    public async Task<bool> DeleteAsync(string userId, string endpoint, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(DeleteOwn, new { UserId = userId, Endpoint = endpoint }, cancellationToken: cancellationToken)) > 0;
    }

    private DateTime Now()
    {
        var now = time.GetUtcNow().UtcDateTime;
        return new DateTime(now.Ticks - now.Ticks % 10, DateTimeKind.Utc);
    }
}
