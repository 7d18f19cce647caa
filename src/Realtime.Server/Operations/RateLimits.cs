using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Realtime.Server.Auth;
using Realtime.Server.Observability;

namespace Realtime.Server.Operations;

/// <summary>Each limit is a token bucket refilled every second with a burst of the same size; 0 disables it.</summary>
internal sealed class RateLimitOptions
{
    public const string SectionName = "RateLimits";

    /// <summary>Sends (and broadcasts) per second per sender.</summary>
    [Range(0, int.MaxValue)]
    public int SendsPerSecond { get; set; } = 2_000;

    /// <summary>Other authenticated REST calls (inbox, read state, push subscriptions, admin) per second per user (token <c>sub</c>).</summary>
    [Range(0, int.MaxValue)]
    public int UserRequestsPerSecond { get; set; } = 50;

    /// <summary>Hub method invocations per second per hub connection.</summary>
    [Range(0, int.MaxValue)]
    public int HubInvocationsPerSecond { get; set; } = 20;

    /// <summary>Requests per second per client IP on the anonymous endpoints (VAPID key, demo page and token, anonymous /metrics, OpenAPI); not /health.</summary>
    [Range(0, int.MaxValue)]
    public int AnonymousRequestsPerSecond { get; set; } = 20;
}

/// <summary>
/// ASP.NET Core's rate limiter: the send policy on the send and broadcast endpoints (per sender),
/// and a global limiter for the rest of the REST API, per user when the endpoint needs a token and
/// per client IP when it is anonymous (the IP as <see cref="ClientAddress"/> settles it, behind
/// configured proxies only). Health probes and the hub's own endpoints are not limited here: hub
/// invocations have <see cref="HubInvocationRateLimit"/>, hub connections the per-user connection cap.
/// A refusal is <c>429</c> with <c>Retry-After</c> and a problem body naming the limit, counted in
/// <c>realtime_rate_limit_rejections_total{policy}</c>.
/// </summary>
internal static class RateLimits
{
    public const string SendPolicy = "sends";
    public const string UserPolicy = "user_requests";
    public const string AnonymousPolicy = "anonymous_requests";
    public const string HubPolicy = "hub_invocations";

    public static WebApplicationBuilder AddRateLimits(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<HubInvocationRateLimit>();
        // Registered before Live adds its own filters, so it runs first: a refused invocation does no work.
        builder.Services.Configure<HubOptions>(hub => hub.AddFilter<HubInvocationRateLimit>());
        builder.Services.AddRateLimiter(limiter =>
        {
            limiter.AddPolicy(SendPolicy, context =>
            {
                var options = context.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value;
                var sender = context.User.FindFirst(ClaimsPrincipalExtensions.SubjectClaim)?.Value ?? "";
                return Bucket(sender, options.SendsPerSecond);
            });
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                var options = context.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value;
                var (policy, key) = Classify(context);
                return policy switch
                {
                    UserPolicy => Bucket(UserPolicy + ":" + key, options.UserRequestsPerSecond),
                    AnonymousPolicy => Bucket(AnonymousPolicy + ":" + key, options.AnonymousRequestsPerSecond),
                    _ => RateLimitPartition.GetNoLimiter(""),
                };
            });
            limiter.OnRejected = async (rejected, cancellationToken) =>
            {
                var context = rejected.HttpContext;
                var options = context.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value;
                // The global limiter lets send endpoints through, so a refusal there is the send policy's.
                var policy = Classify(context).Policy ?? SendPolicy;
                context.RequestServices.GetRequiredService<RealtimeMetrics>().RateLimited(policy);
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                var detail = policy switch
                {
                    UserPolicy => $"At most {options.UserRequestsPerSecond} requests per second per user (RateLimits__UserRequestsPerSecond).",
                    AnonymousPolicy => $"At most {options.AnonymousRequestsPerSecond} requests per second per client address on anonymous endpoints (RateLimits__AnonymousRequestsPerSecond).",
                    _ => $"At most {options.SendsPerSecond} sends per second per sender (RateLimits__SendsPerSecond).",
                };
                await TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests", detail: detail).ExecuteAsync(context);
            };
        });
        return builder;
    }

    /// <summary>
    /// Which global limit a request falls under, and its partition: none for the send endpoints
    /// (their own policy), health probes and the hub; per client IP for anonymous endpoints; per user otherwise.
    /// </summary>
    internal static (string? Policy, string Key) Classify(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        var path = context.Request.Path;
        if (endpoint?.Metadata.GetMetadata<EnableRateLimitingAttribute>() is not null
            || endpoint?.Metadata.GetMetadata<HubMetadata>() is not null
            || path.StartsWithSegments("/hubs") || path.StartsWithSegments("/health"))
        {
            return (null, "");
        }
        if (endpoint?.Metadata.GetMetadata<IAllowAnonymous>() is not null || context.User.Identity?.IsAuthenticated != true)
        {
            return (AnonymousPolicy, context.Connection.RemoteIpAddress?.ToString() ?? "");
        }
        return (UserPolicy, context.User.FindFirst(ClaimsPrincipalExtensions.SubjectClaim)?.Value ?? "");
    }

    /// <summary>A token bucket of <paramref name="perSecond"/> with the same burst for <paramref name="key"/>; no limit at 0.</summary>
    internal static RateLimitPartition<string> Bucket(string key, int perSecond) =>
        perSecond <= 0
            ? RateLimitPartition.GetNoLimiter(key)
            : RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = perSecond,
                TokensPerPeriod = perSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            });
}
