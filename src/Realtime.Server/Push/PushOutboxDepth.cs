namespace Realtime.Server.Push;

/// <summary>
/// The push outbox depth for the <c>realtime_push_outbox_depth</c> gauge. A scrape reads the last
/// count; when that is older than <see cref="RefreshInterval"/> it starts one count query in the
/// background (never more than one at a time), so scrapes never wait for PostgreSQL and never
/// cost a query each. The first scrape therefore shows 0 until the first count is in.
/// </summary>
internal sealed partial class PushOutboxDepth(PushOutboxStore store, TimeProvider time, ILogger<PushOutboxDepth> logger)
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(5);

    private long _depth;
    private long _refreshedAt = long.MinValue;
    private int _refreshing;

    /// <summary>The last count; starts a refresh when it is stale.</summary>
    public long Current()
    {
        var now = time.GetTimestamp();
        if ((Volatile.Read(ref _refreshedAt) == long.MinValue || time.GetElapsedTime(Volatile.Read(ref _refreshedAt), now) >= RefreshInterval)
            && Interlocked.CompareExchange(ref _refreshing, 1, 0) == 0)
        {
            _ = RefreshAsync();
        }
        return Volatile.Read(ref _depth);
    }

    private async Task RefreshAsync()
    {
        try
        {
            Volatile.Write(ref _depth, await store.QueuedJobsAsync(CancellationToken.None));
        }
        catch (Exception ex)
        {
            LogCountFailed(logger, ex);
        }
        finally
        {
            Volatile.Write(ref _refreshedAt, time.GetTimestamp());
            Volatile.Write(ref _refreshing, 0);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Counting the push outbox failed; the gauge keeps its last value")]
    private static partial void LogCountFailed(ILogger logger, Exception exception);
}
