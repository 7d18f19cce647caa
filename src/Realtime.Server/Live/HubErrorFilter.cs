using Microsoft.AspNetCore.SignalR;
using Realtime.Server.Storage;

namespace Realtime.Server.Live;

/// <summary>
/// Logs what hub methods throw, by whose fault: a client's mistake (a <see cref="HubException"/>:
/// someone else's notification id, a negative cursor) goes back to that client and gets at most a
/// Debug line; a database outage is a Warning and a retry-later message; only our own failures are
/// Errors with a stack trace. SignalR's dispatcher would log every one of them as an Error, so its
/// category is silenced in Operations' LoggingSetup and this filter logs instead.
/// </summary>
internal sealed partial class HubErrorFilter(ILogger<HubErrorFilter> logger) : IHubFilter
{
    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        var method = invocationContext.HubMethodName;
        var connectionId = invocationContext.Context.ConnectionId;
        try
        {
            return await next(invocationContext);
        }
        catch (HubException ex)
        {
            LogClientMistake(logger, method, connectionId, ex.Message);
            throw;
        }
        catch (OperationCanceledException) when (invocationContext.Context.ConnectionAborted.IsCancellationRequested)
        {
            LogConnectionGone(logger, method, connectionId);
            throw;
        }
        catch (Exception ex) when (DatabaseErrors.IsUnavailable(ex))
        {
            LogDatabaseUnavailable(logger, method, ex.Message);
            throw new HubException("The database is unavailable; nothing was changed. Retry later.");
        }
        catch (Exception ex)
        {
            LogFailed(logger, method, connectionId, ex);
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Hub method {Method} refused on connection {ConnectionId}: {Reason}")]
    private static partial void LogClientMistake(ILogger logger, string method, string connectionId, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Hub method {Method} ended with connection {ConnectionId}")]
    private static partial void LogConnectionGone(ILogger logger, string method, string connectionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Hub method {Method} failed: PostgreSQL unavailable ({Reason})")]
    private static partial void LogDatabaseUnavailable(ILogger logger, string method, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Hub method {Method} failed on connection {ConnectionId}")]
    private static partial void LogFailed(ILogger logger, string method, string connectionId, Exception exception);
}
