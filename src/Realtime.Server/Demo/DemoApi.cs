using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Realtime.Server.Operations;

namespace Realtime.Server.Demo;

internal sealed record DemoTokenRequest(string? UserId, bool? Admin, int? TtlSeconds);

internal sealed record DemoTokenResponse(string Token, DateTimeOffset ExpiresAt, string UserId, bool Admin);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(DemoTokenRequest))]
[JsonSerializable(typeof(DemoTokenResponse))]
internal sealed partial class DemoJsonContext : JsonSerializerContext;

/// <summary>
/// The demo inbox page (<c>Realtime__DemoPage=true</c>, never in production): the page at
/// <c>/</c>, built on the JS SDK, and <c>POST /api/demo/token</c>, which hands out a token for any
/// user name. Neither exists unless the option is on.
/// </summary>
internal static class DemoApi
{
    public const int MaxUserIdLength = 200;
    private const int MaxBodyBytes = 4096;

    public static WebApplicationBuilder AddDemo(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<DemoOptions>().BindConfiguration(DemoOptions.SectionName);
        builder.Services.AddSingleton<DemoTokenIssuer>();
        builder.Services.AddSingleton<DemoAssets>();
        return builder;
    }

    public static WebApplication MapDemo(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<IOptions<DemoOptions>>().Value.DemoPage)
        {
            return app;
        }
        var assets = app.Services.GetRequiredService<DemoAssets>();
        var group = app.MapGroup("").AllowAnonymous().ExcludeFromDescription();
        group.MapGet("/", (HttpContext context) => assets.Serve(context, "index.html"));
        // The service worker is served from the root so that its scope covers the page.
        group.MapGet("/sw.js", (HttpContext context) => assets.Serve(context, "sw.js"));
        group.MapGet("/demo/{file}", (HttpContext context, string file) => assets.Serve(context, file));
        group.MapGet("/favicon.ico", (HttpContext context) => assets.Serve(context, "icon.svg"));
        // Documented (an API, unlike the page's files), under its own tag.
        app.MapPost("/api/demo/token", IssueTokenAsync).AllowAnonymous().WithTags("Demo");
        return app;
    }

    private static async Task<IResult> IssueTokenAsync(HttpContext context, DemoTokenIssuer issuer, CancellationToken cancellationToken)
    {
        if (!issuer.CanIssue)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status501NotImplemented,
                title: "The demo needs Auth__SigningKey",
                detail: "Demo tokens are HS256 tokens signed with Auth__SigningKey; this server only accepts tokens of an authority.");
        }
        var body = await RequestBody.ReadJsonAsync(context, MaxBodyBytes, DemoJsonContext.Default.DemoTokenRequest, cancellationToken);
        if (body.Problem is not null)
        {
            return body.Problem;
        }
        var request = body.Value!;
        var errors = Validate(request);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }
        var admin = request.Admin ?? false;
        var (token, expiresAt) = issuer.Issue(request.UserId!, admin, request.TtlSeconds ?? DemoTokenIssuer.DefaultTtlSeconds);
        return TypedResults.Json(new DemoTokenResponse(token, expiresAt, request.UserId!, admin), DemoJsonContext.Default.DemoTokenResponse);
    }

    private static Dictionary<string, string[]> Validate(DemoTokenRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        var userId = request.UserId;
        if (string.IsNullOrEmpty(userId) || userId.Length > MaxUserIdLength)
        {
            errors["userId"] = [$"A user id must be 1 to {MaxUserIdLength} characters."];
        }
        else if (userId.Contains('\0') || HasLoneSurrogate(userId))
        {
            errors["userId"] = ["A user id must not contain NUL characters or unpaired surrogates."];
        }
        if (request.TtlSeconds is { } ttl && ttl is < DemoTokenIssuer.MinTtlSeconds or > DemoTokenIssuer.MaxTtlSeconds)
        {
            errors["ttlSeconds"] = [$"ttlSeconds must be {DemoTokenIssuer.MinTtlSeconds} to {DemoTokenIssuer.MaxTtlSeconds}."];
        }
        return errors;
    }

    private static bool HasLoneSurrogate(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return true;
            }
        }
        return false;
    }
}
