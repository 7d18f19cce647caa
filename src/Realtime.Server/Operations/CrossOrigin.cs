namespace Realtime.Server.Operations;

internal sealed class CrossOriginOptions
{
    public const string SectionName = "Cors";

    /// <summary>
    /// Origins of browser apps allowed to call the API and hub from another origin, comma-separated
    /// (<c>https://app.example,https://admin.example</c>: with credentials), or <c>*</c> for any
    /// origin, without credentials. Unset: none.
    /// </summary>
    public string? AllowedOrigins { get; set; }
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
        var configured = builder.Configuration.GetSection(CrossOriginOptions.SectionName).Get<CrossOriginOptions>()?.AllowedOrigins;
        var origins = (configured ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        builder.Services.AddCors(cors => cors.AddDefaultPolicy(policy =>
        {
            if (origins.Contains("*"))
            {
                policy.AllowAnyOrigin();
            }
            else
            {
                policy.WithOrigins(origins).AllowCredentials();
            }
            policy.AllowAnyHeader()
                .AllowAnyMethod()
                .WithExposedHeaders(CorrelationId.HeaderName, "Retry-After")
                .SetPreflightMaxAge(TimeSpan.FromMinutes(10));
        }));
        return builder;
    }
}
