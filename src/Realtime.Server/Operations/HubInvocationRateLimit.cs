using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Realtime.Server.Observability;

namespace Realtime.Server.Operations;

/// <summary>
/// <c>RateLimits__HubInvocationsPerSecond</c>: a token bucket per hub connection. An invocation
/// beyond it is answered with a <see cref="HubException"/> naming the limit (the client's
/// <c>invoke</c> rejects with it); the connection stays open. One partitioned limiter serves every
/// connection (one timer for all; a connection's bucket goes once it has been idle a while).
/// </summary>
internal sealed class HubInvocationRateLimit : IHubFilter, IDisposable
{
    private readonly IOptions<RateLimitOptions> _options;
    private readonly RealtimeMetrics _metrics;
    private readonly PartitionedRateLimiter<string> _limiter;

    public HubInvocationRateLimit(IOptions<RateLimitOptions> options, RealtimeMetrics metrics)
    {
        _options = options;
        _metrics = metrics;
        var perSecond = options.Value.HubInvocationsPerSecond;
        _limiter = PartitionedRateLimiter.Create<string, string>(connectionId => RateLimits.Bucket(connectionId, perSecond));
    }

    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        using (var lease = _limiter.AttemptAcquire(invocationContext.Context.ConnectionId))
        {
            if (!lease.IsAcquired)
            {
                _metrics.RateLimited(RateLimits.HubPolicy);
                var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                throw new HubException(string.Create(CultureInfo.InvariantCulture,
                    $"Rate limited: at most {_options.Value.HubInvocationsPerSecond} hub invocations per second per connection (RateLimits__HubInvocationsPerSecond); retry in {Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds))} s."));
            }
        }
        return await next(invocationContext);
    }

    public void Dispose() => _limiter.Dispose();
}
