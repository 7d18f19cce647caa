using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Options;

namespace Realtime.Server.Operations;

internal sealed class CrossOriginOptions : IValidatableObject
{
    public const string SectionName = "Cors";

    /// <summary>
    /// Origins of browser apps allowed to call the API and hub from another origin, comma-separated
    /// (<c>https://app.example,https://admin.example</c>: with credentials), or <c>*</c> for any
    /// origin, without credentials. Unset: none.
    /// </summary>
    public string? AllowedOrigins { get; set; }

    public IReadOnlyList<string> Origins =>
        (AllowedOrigins ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Each origin is <c>*</c> or scheme://host[:port], nothing more (a path or a trailing slash never matches).</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var origin in Origins.Where(o => o != "*"))
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
                || !string.Equals(uri.GetLeftPart(UriPartial.Authority), origin, StringComparison.OrdinalIgnoreCase))
            {
                yield return new ValidationResult($"Cors:AllowedOrigins: '{origin}' is not an origin like https://app.example.", [nameof(AllowedOrigins)]);
            }
        }
    }
}

/// <summary>
/// CORS for browser apps on other origins. Listed origins are echoed with credentials allowed (the
/// SignalR client negotiates with credentials by default). <c>*</c> answers
/// <c>Access-Control-Allow-Origin: *</c> and never allows credentials: granting them to every
/// origin (<c>null</c> included) would let any page make credentialed calls. Tokens travel in the
/// Authorization header or <c>?access_token=</c>, so a client needs no cookies either way
/// (with <c>*</c>, set <c>withCredentials: false</c> in the SignalR client).
/// </summary>
internal static class CrossOrigin
{
    public static WebApplicationBuilder AddCrossOrigin(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<CrossOriginOptions>().BindConfiguration(CrossOriginOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddCors();
        builder.Services.AddOptions<CorsOptions>().Configure<IOptions<CrossOriginOptions>>((cors, configured) => cors.AddDefaultPolicy(policy =>
        {
            var origins = configured.Value.Origins;
            if (origins.Contains("*"))
            {
                policy.AllowAnyOrigin();
            }
            else
            {
                policy.WithOrigins([.. origins]).AllowCredentials();
            }
            policy.AllowAnyHeader()
                .AllowAnyMethod()
                .WithExposedHeaders(CorrelationId.HeaderName, "Retry-After")
                .SetPreflightMaxAge(TimeSpan.FromMinutes(10));
        }));
        return builder;
    }
}
