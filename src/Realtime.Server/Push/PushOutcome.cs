namespace Realtime.Server.Push;

/// <summary>The states of a push job (the <c>push_jobs.state</c> column).</summary>
internal static class PushJobState
{
    /// <summary>Waiting to be sent (or retried) at <c>due_at</c>.</summary>
    public const string Queued = "queued";

    /// <summary>The push service accepted it (201/202).</summary>
    public const string Sent = "sent";

    /// <summary>The push service answered 404/410: the subscription is deleted.</summary>
    public const string Gone = "gone";

    /// <summary>Refused (another 4xx, a second 413, an endpoint that is not allowed): not retried.</summary>
    public const string Failed = "failed";

    /// <summary>The notification expired before the push service took it.</summary>
    public const string Expired = "expired";

    /// <summary>Read, deleted, or no longer the subscriber's before it went out: not sent.</summary>
    public const string Cancelled = "cancelled";
}

/// <summary>What one attempt at a job came to, and what to record.</summary>
internal sealed record PushOutcome(
    string State,
    int? Status,
    string? Error,
    bool Attempted,
    DateTime? RetryAt = null,
    bool Reduced = false)
{
    public static PushOutcome Cancel(string reason) => new(PushJobState.Cancelled, null, reason, Attempted: false);

    /// <summary>The note on a job held back by the user's quiet hours (its <c>last_error</c> while it waits).</summary>
    public const string HeldNote = "held: quiet hours";

    /// <summary>Not attempted: back in the queue until the user's quiet hours end.</summary>
    public static PushOutcome Hold(DateTime until) => new(PushJobState.Queued, null, HeldNote, Attempted: false, RetryAt: until);

    public static PushOutcome Expire(string reason, int? status = null, bool attempted = false) => new(PushJobState.Expired, status, reason, attempted);
}

/// <summary>
/// Retries with exponential backoff and jitter, never sooner than the push service's
/// <c>Retry-After</c>, until the notification expires.
/// </summary>
internal static class PushRetryPolicy
{
    /// <summary>The first retry waits about this long; each one after it doubles.</summary>
    public static readonly TimeSpan BaseDelay = TimeSpan.FromSeconds(1);

    /// <summary>Never more than this between attempts: a push service back after an outage is used within the hour.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromHours(1);

    /// <summary>A <c>Retry-After</c> beyond this is taken as this (a misbehaving service must not park jobs for weeks).</summary>
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromDays(1);

    /// <summary>Up to this share of the delay is added at random, so retries of many jobs spread out.</summary>
    private const double Jitter = 0.25;

    /// <summary>When attempt number <paramref name="attempts"/> (1 for the first) failed transiently, the next is due after this.</summary>
    public static TimeSpan Delay(int attempts, TimeSpan? retryAfter, double random)
    {
        var exponent = Math.Clamp(attempts - 1, 0, 30);
        var backoff = TimeSpan.FromTicks((long)Math.Min(BaseDelay.Ticks * Math.Pow(2, exponent), MaxDelay.Ticks));
        backoff += TimeSpan.FromTicks((long)(backoff.Ticks * Jitter * Math.Clamp(random, 0, 1)));
        if (retryAfter is { } after && after > backoff)
        {
            backoff = after > MaxRetryAfter ? MaxRetryAfter : after;
        }
        return backoff;
    }

    /// <summary>The outcome of a transient failure: another try later, or giving up when that is past the expiry.</summary>
    public static PushOutcome Retry(int attempts, TimeSpan? retryAfter, DateTime now, DateTime expiresAt, int? status, string error, bool reduced, double random)
    {
        var retryAt = now + Delay(attempts, retryAfter, random);
        return retryAt >= expiresAt
            ? PushOutcome.Expire($"gave up: {error}; the notification expires before the next attempt", status, attempted: true)
            : new PushOutcome(PushJobState.Queued, status, error, Attempted: true, RetryAt: retryAt, Reduced: reduced);
    }
}
