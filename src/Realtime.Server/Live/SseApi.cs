using System.Globalization;
using Microsoft.AspNetCore.Http.Features;
using Realtime.Server.Auth;
using Realtime.Server.Operations;
using Realtime.Server.Storage;

namespace Realtime.Server.Live;

/// <summary>
/// <c>GET /api/notifications/stream</c>: the SSE fallback. Subscribe first, then replay from the
/// cursor (<c>Last-Event-ID</c> or <c>?lastEventId=</c>), then stream live: no gap, no duplicate,
/// ids increasing. Without a cursor the stream is live from now: nothing committed before it
/// opened is sent on it, however late this node's sequencer hands it over.
/// </summary>
internal static partial class SseApi
{
    public const string Path = "/api/notifications/stream";
    public const string CursorQueryName = "lastEventId";

    /// <summary>How long a stream request waits for start-up before it is told to retry.</summary>
    private static readonly TimeSpan WaitForStartup = TimeSpan.FromSeconds(20);

    public static WebApplication MapSseApi(this WebApplication app)
    {
        app.MapGet(Path, StreamAsync).WithTags("Live").WithMetadata(WaitsForStartup.Instance)
            .WithSummary("The caller's notifications as Server-Sent Events (notification, unreadCount, notificationRead, notificationDeleted)")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream");
        return app;
    }

    private static async Task<IResult> StreamAsync(
        HttpContext context, ConnectionRegistry registry, LiveServices services, SequenceStore sequence, KeepAliveScheduler keepAlives, IHostApplicationLifetime application, StartupGate gate)
    {
        if (!gate.IsOpen)
        {
            try
            {
                await gate.WhenOpen.WaitAsync(WaitForStartup, context.RequestAborted);
            }
            catch (TimeoutException)
            {
                // Still starting: a well-formed, empty stream that asks EventSource to come back.
                context.Response.ContentType = "text/event-stream";
                await context.Response.Body.WriteAsync(SseLiveConnection.Preamble, context.RequestAborted);
                return TypedResults.Empty;
            }
        }

        var cursorText = context.Request.Headers["Last-Event-ID"].FirstOrDefault() ?? context.Request.Query[CursorQueryName].FirstOrDefault();
        long? cursor = null;
        if (!string.IsNullOrWhiteSpace(cursorText))
        {
            if (!long.TryParse(cursorText, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]>
                {
                    [CursorQueryName] = ["The cursor (Last-Event-ID or lastEventId) must be 0 or a notification id."],
                });
            }
            cursor = parsed;
        }

        // Ends with the request, at shutdown (so the client reconnects elsewhere at once), or when the token expires.
        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, application.ApplicationStopping);
        if (TokenExpiry(context) is { } expires)
        {
            // The client reconnects with a fresh token and resumes from its Last-Event-ID.
            _ = EndAtAsync(lifetime, expires, services.Time);
        }

        var response = context.Response;
        var connection = new SseLiveConnection(Guid.NewGuid().ToString("N"), context.User.UserId(), response, lifetime, services)
        {
            UserAgent = context.Request.Headers.UserAgent.ToString() is { Length: > 0 } agent ? agent : null,
            RemoteAddress = context.Features.Get<IHttpConnectionFeature>()?.RemoteIpAddress,
            ConnectedAt = services.Time.GetUtcNow(),
        };
        // Subscribe before the client sees the stream open: "live from now" then includes
        // everything committed after it saw `retry:`. Messages wait in the queue until the writer runs.
        registry.Add(connection);
        try
        {
            if (cursor is { } afterId)
            {
                _ = connection.ResumeAsync(afterId, lifetime.Token).ContinueWith(
                    static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            }
            else
            {
                // ...and excludes everything committed before it subscribed: the sequencer may hand
                // that over later still (another node's commit not heard of yet, a delivery behind).
                connection.StartLiveFromNow(await LastCommittedIdAsync(sequence, services.Logger, context.RequestAborted));
            }

            response.Headers.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-cache, no-store";
            response.Headers["X-Accel-Buffering"] = "no";
            context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            await response.Body.WriteAsync(SseLiveConnection.Preamble, context.RequestAborted);
            await response.Body.FlushAsync(context.RequestAborted);

            keepAlives.Sse.Add(connection);
            await connection.RunAsync(lifetime.Token);
        }
        finally
        {
            keepAlives.Sse.Remove(connection);
            registry.Remove(connection);
            connection.Complete();
            await lifetime.CancelAsync(); // also ends the expiry wait
        }
        return TypedResults.Empty;
    }

    /// <summary>
    /// Every id up to the one returned is settled (read under the id lock, so no commit is half
    /// done); null when PostgreSQL cannot say, and the stream is then live from when it subscribed.
    /// </summary>
    private static async Task<long?> LastCommittedIdAsync(SequenceStore sequence, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            return await sequence.LastAllocatedIdAsync(cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogLiveStartUnknown(logger, ex.Message);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read the last committed id for a stream without a cursor; it is live from when it subscribed: {Reason}")]
    private static partial void LogLiveStartUnknown(ILogger logger, string reason);

    /// <summary>
    /// Cancels <paramref name="lifetime"/> at <paramref name="at"/>, however far ahead: a single
    /// timer cannot wait more than about 49.7 days (2^32 - 2 ms), so long waits go in steps.
    /// </summary>
    private static async Task EndAtAsync(CancellationTokenSource lifetime, DateTimeOffset at, TimeProvider time)
    {
        try
        {
            while (at - time.GetUtcNow() is var left && left > TimeSpan.Zero)
            {
                await Task.Delay(left < LongestTimerStep ? left : LongestTimerStep, time, lifetime.Token);
            }
            await lifetime.CancelAsync();
        }
        catch (OperationCanceledException)
        {
            // The stream ended first.
        }
        catch (ObjectDisposedException)
        {
            // The stream ended and disposed its lifetime between the wait and the cancel.
        }
    }

    private static readonly TimeSpan LongestTimerStep = TimeSpan.FromDays(1);

    /// <summary>
    /// When the token expires, as the authentication handler read it (any NumericDate form, clamped
    /// to what a date can hold), or from the <c>exp</c> claim.
    /// </summary>
    private static DateTimeOffset? TokenExpiry(HttpContext context)
    {
        if (context.Features.Get<Microsoft.AspNetCore.Authentication.IAuthenticateResultFeature>()?.AuthenticateResult?.Properties?.ExpiresUtc is { } expires)
        {
            return expires;
        }
        return long.TryParse(context.User.FindFirst("exp")?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(Math.Min(seconds, DateTimeOffset.MaxValue.ToUnixTimeSeconds()))
            : null;
    }
}
