using Microsoft.AspNetCore.Diagnostics;
using Realtime.Server.Notifications;
using Realtime.Server.Storage;

namespace Realtime.Server.Operations;

/// <summary>
/// Maps what escapes an endpoint to a problem response: PostgreSQL unreachable → 503 with
/// Retry-After (the caller retries; nothing was half-written), a malformed request → its 4xx.
/// </summary>
internal sealed partial class ExceptionHandling(ILogger<ExceptionHandling> logger) : IExceptionHandler
{
    public const int RetryAfterSeconds = 5;

    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (context.Response.HasStarted)
        {
            return false;
        }
        if (exception is BadHttpRequestException bad)
        {
            await TypedResults.Problem(statusCode: bad.StatusCode, title: "Bad request", detail: bad.Message).ExecuteAsync(context);
            return true;
        }
        if (exception is OperationCanceledException && context.RequestAborted.IsCancellationRequested)
        {
            context.Response.StatusCode = 499; // client closed request; nobody reads this
            return true;
        }
        if (exception is SendRefusedException refused)
        {
            await TypedResults.Problem(
                statusCode: StatusCodes.Status422UnprocessableEntity,
                title: "Notification not stored",
                detail: $"PostgreSQL refused to store this notification (SQLSTATE {refused.SqlState ?? "unknown"}); other sends are not affected. Sending it again fails the same way.")
                .ExecuteAsync(context);
            return true;
        }
        if (exception is CommitQueueFullException)
        {
            LogQueueFull(logger, context.Request.Path);
            await ServiceUnavailable(context, exception.Message);
            return true;
        }
        if (DatabaseErrors.IsUnavailable(exception))
        {
            LogDatabaseUnavailable(logger, context.Request.Path, exception.Message);
            await ServiceUnavailable(context, "The database is unavailable; nothing was written. Retry later.");
            return true;
        }
        return false;
    }

    public static Task ServiceUnavailable(HttpContext context, string detail)
    {
        context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Service unavailable", detail: detail).ExecuteAsync(context);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Answered 503 on {Path}: the commit queue is full")]
    private static partial void LogQueueFull(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Answered 503 on {Path}: PostgreSQL unavailable ({Reason})")]
    private static partial void LogDatabaseUnavailable(ILogger logger, string path, string reason);
}
