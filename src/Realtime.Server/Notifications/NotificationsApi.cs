using Microsoft.AspNetCore.Http.HttpResults;
using Realtime.Server.Auth;
using Realtime.Server.Contracts;
using Realtime.Server.Operations;
using Realtime.Server.Preferences;
using Realtime.Server.Templates;

namespace Realtime.Server.Notifications;

/// <summary>The send endpoint for backend services and the inbox endpoints for users.</summary>
internal static class NotificationsApi
{
    public const int MaxSendBodyBytes = 256 * 1024;
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 200;

    public static WebApplicationBuilder AddNotifications(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<InboxStore>();
        builder.Services.AddSingleton<IdempotencyStore>();
        builder.Services.AddSingleton<ReadStateService>();
        builder.Services.AddOptions<CommitQueueOptions>().BindConfiguration(CommitQueueOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<GroupCommitQueue>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<GroupCommitQueue>());
        builder.Services.AddSingleton<NotificationRetention>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<NotificationRetention>());
        return builder;
    }

    public static WebApplication MapNotificationsApi(this WebApplication app)
    {
        var api = app.MapGroup("/api/notifications").WithTags("Notifications");
        api.MapPost("/", SendAsync).RequireAuthorization(Policies.Send).RequireRateLimiting(RateLimits.SendPolicy)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/", ListAsync);
        api.MapGet("/unread-count", UnreadCountAsync);
        api.MapPost("/{id:long}/read", (long id, HttpContext context, ReadStateService readState, CancellationToken ct) => SetReadAsync(id, true, context, readState, ct));
        api.MapPost("/{id:long}/unread", (long id, HttpContext context, ReadStateService readState, CancellationToken ct) => SetReadAsync(id, false, context, readState, ct));
        api.MapPost("/read-all", ReadAllAsync);
        api.MapDelete("/{id:long}", DeleteAsync);
        return app;
    }

    private static async Task<Results<Created<SendResponse>, Ok<SendResponse>, ValidationProblem, ProblemHttpResult>> SendAsync(
        HttpContext context, GroupCommitQueue log, IdempotencyStore idempotency, TemplateSends templates, RecipientFilter recipients, CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadJsonAsync(context, MaxSendBodyBytes, RealtimeJsonContext.Default.SendRequest, cancellationToken);
        if (body.Problem is not null)
        {
            return body.Problem;
        }
        var (send, errors) = SendRequestValidator.Validate(body.Value!);
        if (send is null)
        {
            return TypedResults.ValidationProblem(errors);
        }
        var (prepared, templateErrors) = await templates.PrepareAsync(send, cancellationToken); // a template send: its texts, rendered per recipient
        if (prepared is null)
        {
            return TypedResults.ValidationProblem(templateErrors);
        }
        send = prepared;

        var sender = context.User.UserId();
        if (send.IdempotencyKey is { } key)
        {
            var earlier = await idempotency.FindAsync(sender, key, cancellationToken);
            if (earlier is not null)
            {
                return SameRequest(earlier, send) ? Replay(earlier, send) : IdempotencyConflict();
            }
        }

        // Recipients who muted the category get nothing: filtered before the commit, answered as suppressed.
        var (kept, suppressed) = await recipients.FilterAsync(send.UserIds, send.Category, cancellationToken);
        if (kept.Count == 0)
        {
            if (send.IdempotencyKey is null || await idempotency.ClaimEmptyAsync(sender, send.IdempotencyKey, send.ComputeHash(), cancellationToken))
            {
                return TypedResults.Created((string?)null, new SendResponse([], suppressed));
            }
        }
        else
        {
            var commit = kept.Count == send.UserIds.Count ? send : send with { UserIds = kept, RequestedUserIds = send.UserIds };
            var outcome = await log.AppendAsync(commit, sender, cancellationToken);
            if (outcome.Notifications is { } created)
            {
                return TypedResults.Created((string?)null, new SendResponse(created, suppressed));
            }
        }

        // Another send with this key committed first (concurrently): answer as its retry would.
        var winner = await idempotency.FindAsync(sender, send.IdempotencyKey!, cancellationToken);
        return winner is not null && SameRequest(winner, send) ? Replay(winner, send) : IdempotencyConflict();
    }

    private static bool SameRequest(StoredSend earlier, ValidatedSend send) => earlier.RequestHash.AsSpan().SequenceEqual(send.ComputeHash());

    /// <summary>The first call's answer again: its ids, and as suppressed every requested recipient it created nothing for.</summary>
    private static Ok<SendResponse> Replay(StoredSend earlier, ValidatedSend send) =>
        TypedResults.Ok(new SendResponse(earlier.Notifications(), RecipientFilter.SuppressedIn(send.UserIds, earlier.UserIds)));

    private static ProblemHttpResult IdempotencyConflict() => TypedResults.Problem(
        statusCode: StatusCodes.Status409Conflict,
        title: "Idempotency key reused",
        detail: "This idempotencyKey was already used by this sender, in the last 24 hours, with a different request.");

    private static async Task<Results<Ok<InboxPage>, ValidationProblem>> ListAsync(HttpContext context, InboxStore inbox, CancellationToken cancellationToken,
        string? limit = null, string? before = null, string? unread = null, string? category = null)
    {
        var errors = new Dictionary<string, string[]>();
        var pageSize = DefaultPageSize;
        if (limit is not null && (!int.TryParse(limit, out pageSize) || pageSize is < 1 or > MaxPageSize))
        {
            errors["limit"] = [$"limit must be an integer from 1 to {MaxPageSize}."];
        }
        long? beforeId = null;
        if (before is not null)
        {
            if (long.TryParse(before, out var parsed) && parsed > 0) beforeId = parsed;
            else errors["before"] = ["before must be a notification id."];
        }
        var unreadOnly = false;
        if (unread is not null && !bool.TryParse(unread, out unreadOnly))
        {
            errors["unread"] = ["unread must be true or false."];
        }
        if (category is not null && (category.Length is 0 or > SendRequestValidator.MaxCategoryLength || category.Contains('\0')))
        {
            errors["category"] = [$"category must be 1 to {SendRequestValidator.MaxCategoryLength} characters."];
        }
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var userId = context.User.UserId();
        var (items, more) = await inbox.ListAsync(userId, pageSize, beforeId, unreadOnly, category, cancellationToken);
        var unreadCount = await inbox.UnreadCountAsync(userId, cancellationToken);
        return TypedResults.Ok(new InboxPage(items, unreadCount, more ? items[^1].Id : null));
    }

    private static async Task<Ok<UnreadCountResponse>> UnreadCountAsync(HttpContext context, InboxStore inbox, CancellationToken cancellationToken) =>
        TypedResults.Ok(new UnreadCountResponse(await inbox.UnreadCountAsync(context.User.UserId(), cancellationToken)));

    private static async Task<Results<NoContent, ProblemHttpResult>> SetReadAsync(long id, bool read, HttpContext context, ReadStateService readState, CancellationToken cancellationToken) =>
        await readState.SetReadAsync(context.User.UserId(), id, read, cancellationToken) ? TypedResults.NoContent() : NotFound(id);

    private static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> ReadAllAsync(HttpContext context, ReadStateService readState, CancellationToken cancellationToken)
    {
        long? upTo = null;
        if (context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            var body = await RequestBody.ReadJsonAsync(context, 4 * 1024, RealtimeJsonContext.Default.ReadAllRequest, cancellationToken);
            if (body.Problem is not null)
            {
                return body.Problem;
            }
            upTo = body.Value?.UpTo;
            if (upTo is < 0)
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["upTo"] = ["upTo must be a notification id."] });
            }
        }
        await readState.ReadAllAsync(context.User.UserId(), upTo, cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(long id, HttpContext context, ReadStateService readState, CancellationToken cancellationToken) =>
        await readState.DeleteAsync(context.User.UserId(), id, cancellationToken) ? TypedResults.NoContent() : NotFound(id);

    private static ProblemHttpResult NotFound(long id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"Notification {id} was not found in your inbox.");
}
