using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Realtime.Server.Auth;
using Realtime.Server.Operations;
using Realtime.Server.Storage;

namespace Realtime.Server.Push;

internal sealed record VapidPublicKeyResponse(string PublicKey);

/// <summary>
/// Web Push for users with no open tab: the VAPID public key (anonymous), and a user's push
/// subscriptions (store, remove). Registers the key store, the planner and the outbox worker.
/// </summary>
internal static class PushApi
{
    /// <summary>A <c>PushSubscription.toJSON()</c> is a few hundred bytes.</summary>
    public const int MaxSubscriptionBodyBytes = 8 * 1024;

    public const int MaxUserAgentLength = 512;

    public static WebApplicationBuilder AddPush(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<PushOptions>().BindConfiguration(PushOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<EndpointGuard>();
        services.AddSingleton<VapidKeyStore>();
        services.AddSingleton<IStartupTask>(sp => sp.GetRequiredService<VapidKeyStore>());
        services.AddSingleton<SubscriptionStore>();
        services.AddSingleton<PushOutboxStore>();
        services.AddSingleton<PushOutboxDepth>();
        services.AddSingleton<PushSender>();
        services.AddSingleton<PushSchedule>();
        services.AddSingleton<PushWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<PushWorker>());
        services.AddSingleton<PushPlanner>();
        services.AddHostedService(sp => sp.GetRequiredService<PushPlanner>());
        return builder;
    }

    public static WebApplication MapPushApi(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<PushOptions>>().Value;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(PushApi).FullName!);
        if (string.IsNullOrWhiteSpace(options.Subject))
        {
            PushLog.DefaultSubject(logger, options.EffectiveSubject);
        }
        if (options.AllowInsecureEndpoints)
        {
            PushLog.InsecureEndpointsAllowed(logger);
        }

        var push = app.MapGroup("/api/push").WithTags("Web Push");
        push.MapGet("/vapid-public-key", PublicKeyAsync).AllowAnonymous();
        push.MapPost("/subscriptions", SubscribeAsync);
        push.MapDelete("/subscriptions", UnsubscribeAsync);
        return app;
    }

    /// <summary>Waits for start-up (the pair may be generated then) rather than answering 503.</summary>
    private static async Task<Ok<VapidPublicKeyResponse>> PublicKeyAsync(VapidKeyStore keys, CancellationToken cancellationToken) =>
        TypedResults.Ok(new VapidPublicKeyResponse((await keys.Keys.WaitAsync(cancellationToken)).PublicKey));

    private static async Task<IResult> SubscribeAsync(HttpContext context, SubscriptionStore store, EndpointGuard guard, IOptions<PushOptions> options, CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadBytesAsync(context, MaxSubscriptionBodyBytes, cancellationToken);
        if (body.Problem is not null)
        {
            return body.Problem;
        }
        var (subscription, errors) = SubscriptionRequest.Parse(body.Value, guard);
        if (subscription is null)
        {
            return TypedResults.ValidationProblem(errors);
        }
        var (created, createdAt) = await store.UpsertAsync(context.User.UserId(), subscription, UserAgent(context), options.Value.MaxSubscriptionsPerUser, cancellationToken);
        var response = new PushSubscriptionResponse(subscription.Endpoint, subscription.ExpiresAt, createdAt);
        return created ? TypedResults.Created((string?)null, response) : TypedResults.Ok(response);
    }

    private static async Task<IResult> UnsubscribeAsync(HttpContext context, SubscriptionStore store, CancellationToken cancellationToken, string? endpoint = null)
    {
        if (string.IsNullOrEmpty(endpoint) || endpoint.Length > EndpointGuard.MaxEndpointLength || endpoint.Contains('\0'))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["endpoint"] = [$"endpoint (the subscription's push service URL, URL-encoded) is required, at most {EndpointGuard.MaxEndpointLength} characters."],
            });
        }
        await store.DeleteAsync(context.User.UserId(), endpoint, cancellationToken);
        return TypedResults.NoContent();
    }

    private static string? UserAgent(HttpContext context)
    {
        var agent = context.Request.Headers.UserAgent.ToString().Replace("\0", "", StringComparison.Ordinal);
        return agent.Length == 0 ? null : agent.Length > MaxUserAgentLength ? agent[..MaxUserAgentLength] : agent;
    }
}
