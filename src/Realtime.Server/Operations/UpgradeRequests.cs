using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Features;

namespace Realtime.Server.Operations;

/// <summary>
/// Requests asking to become a WebSocket (hub connections): they last as long as the connection, so
/// they skip the exception handler and status-code pages middleware, whose frames each would hold
/// per connection, and <see cref="RequestLogging"/> answers their errors the same way in its own
/// frame: an error status without a body gets its problem body, an exception before the upgrade the
/// exception handler's answer (<see cref="ExceptionHandling"/>, else a 500 problem). After the
/// upgrade the response has started, and neither middleware could do anything anyway.
/// </summary>
internal static class UpgradeRequests
{
    public static bool Matches(HttpContext context) =>
        context.Features.Get<IHttpUpgradeFeature>()?.IsUpgradableRequest == true
        || context.Features.Get<IHttpExtendedConnectFeature>()?.IsExtendedConnect == true;

    /// <summary>What <c>UseStatusCodePages</c> does (with problem details) for an error status with no body.</summary>
    public static async Task AnswerStatusAsync(HttpContext context)
    {
        var response = context.Response;
        if (response.HasStarted || response.StatusCode is < 400 or >= 600 || response.ContentLength.HasValue || !string.IsNullOrEmpty(response.ContentType))
        {
            return;
        }
        await context.RequestServices.GetRequiredService<IProblemDetailsService>()
            .TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = { Status = response.StatusCode } });
    }

    /// <summary>What <c>UseExceptionHandler</c> does: the registered handlers, else a 500 problem. False when the response has started.</summary>
    public static async Task<bool> AnswerExceptionAsync(HttpContext context, Exception exception)
    {
        if (context.Response.HasStarted)
        {
            return false;
        }
        context.Response.Clear();
        foreach (var handler in context.RequestServices.GetServices<IExceptionHandler>())
        {
            if (await handler.TryHandleAsync(context, exception, context.RequestAborted))
            {
                return true;
            }
        }
        context.Response.StatusCode = StatusCodes.Status500InternalServerError;
        await context.RequestServices.GetRequiredService<IProblemDetailsService>().TryWriteAsync(
            new ProblemDetailsContext { HttpContext = context, Exception = exception, ProblemDetails = { Status = StatusCodes.Status500InternalServerError } });
        return true;
    }
}
