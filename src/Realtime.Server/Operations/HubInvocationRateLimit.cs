using System.Globalization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Realtime.Server.Observability;

namespace Realtime.Server.Operations;

/// <summary>
/// <c>RateLimits__HubInvocationsPerSecond</c>: a token bucket per hub connection. An invocation
/// beyond it is answered with a <see cref="HubException"/> naming the limit (the client's
/// <c>invoke</c> rejects with it); the connection stays open. The buckets are the request limits'
/// <see cref="TokenBuckets"/> keyed by connection (no global lock; a connection's bucket goes once
/// it has been idle a while); at 0 the filter only passes the call on.
/// </summary>
internal sealed class HubInvocationRateLimit(IOptions<RateLimitOptions> options, RealtimeMetrics metrics, TimeProvider time) : IHubFilter
{
    private readonly TokenBuckets? _buckets = RateLimits.Buckets(options.Value.HubInvocationsPerSecond, time);

    public ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        if (_buckets is null || _buckets.TryAcquire(invocationContext.Context.ConnectionId, out var retryAfter))
        {
            return next(invocationContext);
        }
        metrics.RateLimited(RateLimits.HubPolicy);
        return ValueTask.FromException<object?>(new HubException(string.Create(CultureInfo.InvariantCulture,
            $"Rate limited: at most {options.Value.HubInvocationsPerSecond} hub invocations per second per connection (RateLimits__HubInvocationsPerSecond); retry in {RateLimits.RetryAfterSeconds(retryAfter)} s.")));
    }
}
