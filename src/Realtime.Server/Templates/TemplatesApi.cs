using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Realtime.Server.Auth;
using Realtime.Server.Bus;
using Realtime.Server.Operations;

namespace Realtime.Server.Templates;

/// <summary>
/// <c>/api/templates</c>: notification templates (Liquid, per locale) for role <c>admin</c> or scope
/// <c>templates:write</c>. A change drops the template from every node's <see cref="TemplateCache"/>.
/// </summary>
internal static partial class TemplatesApi
{
    public const int MaxBodyBytes = 256 * 1024;
    public const int DefaultPageSize = 100;
    public const int MaxPageSize = 500;

    public static WebApplicationBuilder AddTemplates(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<TemplateEngine>();
        builder.Services.AddSingleton<TemplateStore>();
        builder.Services.AddSingleton<TemplateCache>();
        builder.Services.AddSingleton<TemplateSendRenderer>();
        builder.Services.AddSingleton<TemplateSends>();
        // Users' preferred locales come from their preferences once that feature backs this.
        builder.Services.TryAddSingleton<IRecipientLocales, PreferredRecipientLocales>();
        return builder;
    }

    /// <summary>Every node drops a changed template at once (its own changes included: the bus hands them back).</summary>
    public static WebApplication SubscribeTemplatesToBus(this WebApplication app)
    {
        var cache = app.Services.GetRequiredService<TemplateCache>();
        app.Services.GetRequiredService<IMessageBus>().OnCacheInvalidation(invalidation =>
        {
            if (invalidation.Cache == TemplateCache.CacheName)
            {
                cache.Invalidate(invalidation.Key);
            }
        });
        return app;
    }

    public static WebApplication MapTemplatesApi(this WebApplication app)
    {
        var api = app.MapGroup("/api/templates").WithTags("Templates").RequireAuthorization(Policies.Templates);
        api.MapGet("/", ListAsync);
        api.MapGet("/{key}", GetAsync);
        api.MapPut("/{key}", PutAsync).Accepts<TemplateDocument>("application/json").ProducesProblem(StatusCodes.Status413PayloadTooLarge);
        api.MapDelete("/{key}", DeleteAsync);
        return app;
    }

    private static async Task<Results<Created<TemplateResponse>, Ok<TemplateResponse>, ValidationProblem, ProblemHttpResult>> PutAsync(
        string key, HttpContext context, TemplateEngine engine, TemplateStore store, IMessageBus bus, ILogger<TemplateStore> logger, CancellationToken cancellationToken)
    {
        if (!TemplateValidator.IsValidKey(key))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["key"] = [$"The key must be 1 to {TemplateValidator.MaxKeyLength} of a-z, 0-9, '.', '_', '-'."],
            });
        }
        var body = await RequestBody.ReadJsonAsync(context, MaxBodyBytes, RealtimeJsonContext.Default.TemplateDocument, cancellationToken);
        if (body.Problem is not null)
        {
            return body.Problem;
        }
        var (definition, errors) = TemplateValidator.Validate(body.Value!, engine);
        if (definition is null)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var (stored, created) = await store.PutAsync(key, definition, cancellationToken);
        await bus.PublishAsync(new CacheInvalidation(TemplateCache.CacheName, key), CancellationToken.None);
        LogSaved(logger, key, stored.Version, context.User.UserId());
        return created
            ? TypedResults.Created($"/api/templates/{key}", stored.ToResponse())
            : TypedResults.Ok(stored.ToResponse());
    }

    private static async Task<Results<Ok<TemplateResponse>, ProblemHttpResult>> GetAsync(string key, TemplateStore store, CancellationToken cancellationToken) =>
        TemplateValidator.IsValidKey(key) && await store.FindAsync(key, cancellationToken) is { } stored
            ? TypedResults.Ok(stored.ToResponse())
            : NotFound(key);

    private static async Task<Results<Ok<TemplateListResponse>, ValidationProblem>> ListAsync(TemplateStore store, CancellationToken cancellationToken,
        string? limit = null, string? after = null)
    {
        var pageSize = DefaultPageSize;
        if (limit is not null && (!int.TryParse(limit, out pageSize) || pageSize is < 1 or > MaxPageSize))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = [$"limit must be an integer from 1 to {MaxPageSize}."] });
        }
        if (after is not null && !TemplateValidator.IsValidKey(after))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["after"] = ["after must be a template key."] });
        }
        var page = await store.ListAsync(after, pageSize + 1, cancellationToken);
        var items = page.Take(pageSize).Select(t => t.ToResponse()).ToList();
        return TypedResults.Ok(new TemplateListResponse(items, page.Count > pageSize ? items[^1].Key : null));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        string key, HttpContext context, TemplateStore store, IMessageBus bus, ILogger<TemplateStore> logger, CancellationToken cancellationToken)
    {
        if (!TemplateValidator.IsValidKey(key) || !await store.DeleteAsync(key, cancellationToken))
        {
            return NotFound(key);
        }
        await bus.PublishAsync(new CacheInvalidation(TemplateCache.CacheName, key), CancellationToken.None);
        LogDeleted(logger, key, context.User.UserId());
        return TypedResults.NoContent();
    }

    private static ProblemHttpResult NotFound(string key) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"There is no template '{(key.Length > 100 ? key[..100] : key)}'.");

    [LoggerMessage(Level = LogLevel.Information, Message = "Template {Key} saved as version {Version} by {User}")]
    private static partial void LogSaved(ILogger logger, string key, int version, string user);

    [LoggerMessage(Level = LogLevel.Information, Message = "Template {Key} deleted by {User}")]
    private static partial void LogDeleted(ILogger logger, string key, string user);
}
