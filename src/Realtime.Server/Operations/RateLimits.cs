using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Realtime.Server.Auth;
using Realtime.Server.Observability;

namespace Realtime.Server.Operations;

/// <summary>Each limit is a token bucket per key, refilled at that many per second with a burst of the same size; 0 disables it.</summary>
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
/// The request limits: per sender on the send and broadcast endpoints (marked with ASP.NET's
/// <c>RequireRateLimiting(SendPolicy)</c>), and for the rest of the REST API per user when the
/// endpoint needs a token and per client IP when it is anonymous (the IP as <see cref="ClientAddress"/>
/// settles it, behind configured proxies only). Health probes and the hub's own endpoints are not
/// limited here: hub invocations have <see cref="HubInvocationRateLimit"/>, hub connections the
/// per-user connection cap. A refusal is <c>429</c> with <c>Retry-After</c> and a problem body
/// naming the limit, counted in <c>realtime_rate_limit_rejections_total{policy}</c>.
/// Not ASP.NET's rate limiter middleware: whenever it has a global limiter or a policy, every
/// request passes its endpoint limiter, whose partitioned limiter takes one process-wide lock per
/// acquire (16% of the busy time and most lock contention of the latency benchmark, BENCHMARKS.md).
/// Here each key has its own <see cref="TokenBuckets"/> bucket, and a limit at 0 has no code on the path.
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
        return builder;
    }

    /// <summary>The request limits, after authorization (they key on the user); nothing at all when every one is 0.</summary>
    public static IApplicationBuilder UseRateLimits(this IApplicationBuilder app)
    {
        var options = app.ApplicationServices.GetRequiredService<IOptions<RateLimitOptions>>().Value;
        return options is { SendsPerSecond: 0, UserRequestsPerSecond: 0, AnonymousRequestsPerSecond: 0 }
            ? app
            : app.UseMiddleware<RequestRateLimitMiddleware>();
    }

    /// <summary>
    /// Which limit a request falls under, and its partition: the send policy per sender on the send
    /// endpoints; none for health probes and the hub; per client IP for anonymous endpoints; per user otherwise.
    /// </summary>
    internal static (string? Policy, string Key) Classify(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        var path = context.Request.Path;
        if (endpoint?.Metadata.GetMetadata<EnableRateLimitingAttribute>() is { PolicyName: SendPolicy })
        {
            return (SendPolicy, context.User.FindFirst(ClaimsPrincipalExtensions.SubjectClaim)?.Value ?? "");
        }
        if (endpoint?.Metadata.GetMetadata<HubMetadata>() is not null
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

    /// <summary>Token buckets of <paramref name="perSecond"/>; none (no limit) at 0.</summary>
    internal static TokenBuckets? Buckets(int perSecond, TimeProvider time) => perSecond > 0 ? new TokenBuckets(perSecond, time) : null;

    /// <summary>The <c>Retry-After</c> seconds for a wait: whole seconds, at least 1.</summary>
    internal static int RetryAfterSeconds(TimeSpan wait) => Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
}

/// <summary>Applies <see cref="RateLimits"/> to each request: one bucket lookup, no global lock.</summary>
internal sealed class RequestRateLimitMiddleware
{
    private readonly RequestDelegate _next;
    private readonly RateLimitOptions _options;
    private readonly RealtimeMetrics _metrics;
    private readonly TokenBuckets? _sends;
    private readonly TokenBuckets? _users;
    private readonly TokenBuckets? _anonymous;

    public RequestRateLimitMiddleware(RequestDelegate next, IOptions<RateLimitOptions> options, RealtimeMetrics metrics, TimeProvider time)
    {
        _next = next;
        _options = options.Value;
        _metrics = metrics;
        _sends = RateLimits.Buckets(_options.SendsPerSecond, time);
        _users = RateLimits.Buckets(_options.UserRequestsPerSecond, time);
        _anonymous = RateLimits.Buckets(_options.AnonymousRequestsPerSecond, time);
    }

    public Task InvokeAsync(HttpContext context)
    {
        var (policy, key) = RateLimits.Classify(context);
        var buckets = policy switch
        {
            RateLimits.SendPolicy => _sends,
            RateLimits.UserPolicy => _users,
            RateLimits.AnonymousPolicy => _anonymous,
            _ => null,
        };
        return buckets is null || buckets.TryAcquire(key, out var retryAfter)
            ? _next(context)
            : RejectAsync(context, policy!, retryAfter);
    }

    private Task RejectAsync(HttpContext context, string policy, TimeSpan retryAfter)
    {
        _metrics.RateLimited(policy);
        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        context.Response.Headers.RetryAfter = RateLimits.RetryAfterSeconds(retryAfter).ToString(CultureInfo.InvariantCulture);
        var detail = policy switch
        {
            RateLimits.UserPolicy => $"At most {_options.UserRequestsPerSecond} requests per second per user (RateLimits__UserRequestsPerSecond).",
            RateLimits.AnonymousPolicy => $"At most {_options.AnonymousRequestsPerSecond} requests per second per client address on anonymous endpoints (RateLimits__AnonymousRequestsPerSecond).",
            _ => $"At most {_options.SendsPerSecond} sends per second per sender (RateLimits__SendsPerSecond).",
        };
        return TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests", detail: detail).ExecuteAsync(context);
    }
}
