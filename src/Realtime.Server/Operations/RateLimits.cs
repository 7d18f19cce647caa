using System.ComponentModel.DataAnnotations;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Realtime.Server.Auth;

namespace Realtime.Server.Operations;

internal sealed class RateLimitOptions
{
    public const string SectionName = "RateLimits";

    /// <summary>Sends (and broadcasts) per second per sender, with the same burst. 0 disables the limit.</summary>
    [Range(0, int.MaxValue)]
    public int SendsPerSecond { get; set; } = 2_000;
}

/// <summary>A token bucket per sender (<c>sub</c>) on the send and broadcast endpoints.</summary>
internal static class RateLimits
{
    public const string SendPolicy = "sends";

    public static WebApplicationBuilder AddRateLimits(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddRateLimiter(limiter =>
        {
            limiter.AddPolicy(SendPolicy, context =>
            {
                var options = context.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value;
                var sender = context.User.FindFirst(ClaimsPrincipalExtensions.SubjectClaim)?.Value ?? "";
                if (options.SendsPerSecond <= 0)
                {
                    return RateLimitPartition.GetNoLimiter(sender);
                }
                return RateLimitPartition.GetTokenBucketLimiter(sender, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = options.SendsPerSecond,
                    TokensPerPeriod = options.SendsPerSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
            limiter.OnRejected = async (rejected, cancellationToken) =>
            {
                rejected.HttpContext.RequestServices.GetRequiredService<Observability.RealtimeMetrics>()
                    .RateLimited(rejected.HttpContext.GetEndpoint()?.Metadata.GetMetadata<EnableRateLimitingAttribute>()?.PolicyName ?? SendPolicy);
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                var response = rejected.HttpContext.Response;
                response.StatusCode = StatusCodes.Status429TooManyRequests;
                response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                var options = rejected.HttpContext.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value;
                await TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests",
                    detail: $"At most {options.SendsPerSecond} sends per second per sender.").ExecuteAsync(rejected.HttpContext);
            };
        });
        return builder;
    }
}
