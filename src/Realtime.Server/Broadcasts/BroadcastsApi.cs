using Microsoft.AspNetCore.Http.HttpResults;
using Realtime.Server.Auth;
using Realtime.Server.Notifications;
using Realtime.Server.Operations;

namespace Realtime.Server.Broadcasts;

internal sealed record BroadcastResponse(long Id);

/// <summary>
/// <c>POST /api/broadcasts</c>: a system notice for every user, stored once (one row however many
/// users there are), merged into every inbox at read time and pushed live to every connection.
/// Its id comes from the same commit-ordered sequence as notifications, so resume covers it.
/// </summary>
internal static class BroadcastsApi
{
    public static WebApplication MapBroadcastsApi(this WebApplication app)
    {
        app.MapPost("/api/broadcasts", BroadcastAsync)
            .WithTags("Broadcasts")
            .RequireAuthorization(Policies.Broadcast)
            .RequireRateLimiting(RateLimits.SendPolicy)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    private static async Task<Results<Created<BroadcastResponse>, ValidationProblem, ProblemHttpResult>> BroadcastAsync(HttpContext context, GroupCommitQueue log, CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadJsonAsync(context, NotificationsApi.MaxSendBodyBytes, RealtimeJsonContext.Default.SendRequest, cancellationToken);
        if (body.Problem is not null)
        {
            return body.Problem;
        }
        var (broadcast, errors) = SendRequestValidator.ValidateBroadcast(body.Value!);
        if (broadcast is null)
        {
            return TypedResults.ValidationProblem(errors);
        }
        var outcome = await log.AppendAsync(broadcast, context.User.UserId(), cancellationToken);
        return TypedResults.Created((string?)null, new BroadcastResponse(outcome.Notifications!.Single().Id));
    }
}
