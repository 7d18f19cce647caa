namespace Realtime.Server.Operations;

internal sealed class CrossOriginOptions
{
    public const string SectionName = "Cors";

    /// <summary>
    /// Origins of browser apps allowed to call the API and hub from another origin, comma-separated
    /// (<c>https://app.example,https://admin.example</c>), or <c>*</c> for any. Unset: none.
    /// </summary>
    public string? AllowedOrigins { get; set; }
}

/// <summary>
/// CORS for browser apps on other origins. Credentials are allowed, because the SignalR client
/// negotiates with them; so an allowed origin is echoed, never <c>*</c>.
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
                policy.SetIsOriginAllowed(_ => true);
            }
            else
            {
                policy.WithOrigins(origins);
            }
            policy.AllowAnyHeader()
                .AllowAnyMethod()
                .AllowCredentials()
                .WithExposedHeaders(CorrelationId.HeaderName, "Retry-After")
                .SetPreflightMaxAge(TimeSpan.FromMinutes(10));
        }));
        return builder;
    }
}
