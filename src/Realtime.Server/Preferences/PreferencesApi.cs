using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Realtime.Server.Auth;
using Realtime.Server.Bus;
using Realtime.Server.Operations;

namespace Realtime.Server.Preferences;

/// <summary>
/// <c>GET</c>/<c>PUT /api/preferences</c>: any valid token, and only the caller's own document.
/// Registers the store, the per-node cache and the send-time recipient filter.
/// </summary>
internal static class PreferencesApi
{
    /// <summary>500 categories with long names, escaped, fit easily.</summary>
    public const int MaxBodyBytes = 512 * 1024;

    public static WebApplicationBuilder AddPreferences(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<PreferencesOptions>().BindConfiguration(PreferencesOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<PreferencesStore>();
        builder.Services.AddSingleton<PreferencesCache>();
        builder.Services.AddSingleton<RecipientFilter>();
        return builder;
    }

    public static WebApplication MapPreferencesApi(this WebApplication app)
    {
        var api = app.MapGroup("/api/preferences").WithTags("Preferences");
        api.MapGet("/", GetAsync);
        api.MapPut("/", PutAsync).Accepts<PreferencesDocument>("application/json").ProducesProblem(StatusCodes.Status413PayloadTooLarge);
        return app;
    }

    private static async Task<Ok<PreferencesDocument>> GetAsync(HttpContext context, PreferencesStore store, CancellationToken cancellationToken)
    {
        var userId = context.User.UserId();
        var stored = await store.LoadAsync([userId], cancellationToken);
        return TypedResults.Ok(stored.GetValueOrDefault(userId) ?? PreferencesDocument.Default);
    }

    private static async Task<Results<Ok<PreferencesDocument>, ValidationProblem, ProblemHttpResult>> PutAsync(
        HttpContext context, PreferencesStore store, PreferencesCache cache, IMessageBus bus, TimeProvider time, CancellationToken cancellationToken)
    {
        var (bytes, problem) = await RequestBody.ReadBytesAsync(context, MaxBodyBytes, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }
        PreferencesDocument? document;
        Dictionary<string, string[]> errors;
        try
        {
            using var json = JsonDocument.Parse(bytes);
            (document, errors) = PreferencesValidator.Validate(json.RootElement, cache.MandatoryCategories);
        }
        catch (JsonException)
        {
            return Invalid(RequestBody.WholeBodyField, "The body is not valid JSON.");
        }
        catch (InvalidOperationException)
        {
            return Invalid(RequestBody.WholeBodyField, "The body holds text that is not valid UTF-16 (an unpaired surrogate escape).");
        }
        if (document is null)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var userId = context.User.UserId();
        await store.SaveAsync(userId, document, time.GetUtcNow().UtcDateTime, cancellationToken);
        // Every node (this one at once, the others through the bus) drops its cached copy.
        await bus.PublishAsync(new CacheInvalidation(PreferencesCache.CacheName, userId), CancellationToken.None);
        return TypedResults.Ok(document);
    }

    private static ValidationProblem Invalid(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] });
}
