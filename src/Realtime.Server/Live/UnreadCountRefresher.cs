using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Realtime.Server.Contracts;
using Realtime.Server.Notifications;

namespace Realtime.Server.Live;

/// <summary>
/// Sends <c>unreadCount</c> to connected users after new notifications whose commit did not read
/// it (a send committed on this node reads its recipients' counts in its own transaction, and the
/// dispatcher sends those with the notification), and after broadcasts. Requests are coalesced:
/// a burst for many users costs one query per 1,000 of them, and a burst for one user one message.
/// A broadcast moves everyone's count: it asks for one sweep of every connected user, and the
/// broadcasts of one <see cref="LiveOptions.BroadcastUnreadCountInterval"/> share a sweep (the
/// first after a quiet spell goes at once). One loop does every query and enqueues each answer
/// before the next query, so the last count a connection gets is from the latest read.
/// </summary>
internal sealed partial class UnreadCountRefresher(
    ConnectionRegistry registry, InboxStore inbox, TimeProvider time, IOptions<LiveOptions> options, ILogger<UnreadCountRefresher> logger) : BackgroundService
{
    private const int MaxUsersPerQuery = 1_000;

    /// <summary>
    /// A sweep's counts wait this long for the connection's next write (a stream of broadcasts, at 5/s
    /// or more, carries them in its own socket sends: no send of their own) before they are written alone.
    /// </summary>
    private static readonly TimeSpan SweepCountsWait = TimeSpan.FromMilliseconds(200);

    // A null request is "every connected user" (a broadcast, or the bus back after an outage).
    private readonly Channel<string?> _requests = Channel.CreateUnbounded<string?>(new UnboundedChannelOptions { SingleReader = true });
    private int _everyoneRequested;

    // Odd while a query is on its way: from before it is sent until its answers are queued.
    private long _queries;

    public void Request(string userId) => _requests.Writer.TryWrite(userId);

    /// <summary>Taken before queueing a count that a commit read, for <see cref="QueuedKnownCount"/>.</summary>
    public long QueriesBeforeQueueing() => Interlocked.Read(ref _queries);

    /// <summary>
    /// A count that a commit read was queued to <paramref name="userId"/>'s connections (no query
    /// needed). A query on its way meanwhile may have read the count before that commit and queue
    /// it after this one: then the user is read once more, so the last count a connection gets is
    /// never older than the last notification it got.
    /// </summary>
    public void QueuedKnownCount(string userId, long queriesBefore)
    {
        if ((queriesBefore & 1) != 0 || Interlocked.Read(ref _queries) != queriesBefore)
        {
            Request(userId);
        }
    }

    /// <summary>Every connected user's count moved; cheap to call once per broadcast.</summary>
    public void RequestEveryone()
    {
        if (Interlocked.Exchange(ref _everyoneRequested, 1) == 0)
        {
            _requests.Writer.TryWrite(null);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var users = new HashSet<string>(StringComparer.Ordinal);
        var everyone = false;
        long? lastSweep = null;
        try
        {
            while (true)
            {
                var sweepIn = everyone && lastSweep is { } last ? options.Value.BroadcastUnreadCountInterval - time.GetElapsedTime(last) : TimeSpan.Zero;
                if (everyone && sweepIn <= TimeSpan.Zero)
                {
                    lastSweep = time.GetTimestamp();
                    everyone = false;
                    users.Clear();
                    await SweepAsync(stoppingToken);
                    continue;
                }
                if (!await WaitAsync(everyone ? sweepIn : Timeout.InfiniteTimeSpan, stoppingToken))
                {
                    continue; // the sweep is due
                }
                users.Clear();
                while (users.Count < MaxUsersPerQuery && _requests.Reader.TryRead(out var userId))
                {
                    if (userId is null)
                    {
                        Volatile.Write(ref _everyoneRequested, 0);
                        everyone = true;
                    }
                    else
                    {
                        users.Add(userId);
                    }
                }
                if (users.Count > 0)
                {
                    await RefreshAsync(users, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Waits for a request, at most <paramref name="timeout"/>; false when the time ran out first.</summary>
    private async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken stoppingToken)
    {
        if (_requests.Reader.TryPeek(out _))
        {
            return true;
        }
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            return await _requests.Reader.WaitToReadAsync(stoppingToken);
        }
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timer.CancelAfter(timeout);
        try
        {
            return await _requests.Reader.WaitToReadAsync(timer.Token);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Every connected user, a query per <see cref="MaxUsersPerQuery"/>; the counts go out with the next writes (<see cref="SweepCountsWait"/>).</summary>
    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        var deferred = new List<LiveConnection>();
        foreach (var chunk in registry.Users.Chunk(MaxUsersPerQuery))
        {
            await RefreshAsync(chunk.ToHashSet(StringComparer.Ordinal), cancellationToken, deferred);
        }
        if (deferred.Count > 0)
        {
            _ = FlushLaterAsync(deferred, cancellationToken);
        }
    }

    /// <summary>Writes the sweep's counts that no later write has taken along.</summary>
    private async Task FlushLaterAsync(List<LiveConnection> connections, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(SweepCountsWait, time, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return; // stopping: the connections are closing
        }
        foreach (var connection in connections)
        {
            connection.FlushDeferred();
        }
    }

    /// <summary>Reads and queues the counts of <paramref name="users"/>; with <paramref name="deferredTo"/>, to wait for the next write (and listed there).</summary>
    private async Task RefreshAsync(HashSet<string> users, CancellationToken cancellationToken, List<LiveConnection>? deferredTo = null)
    {
        users.RemoveWhere(u => registry.ForUser(u).IsEmpty);
        if (users.Count == 0)
        {
            return;
        }
        Interlocked.Increment(ref _queries);
        try
        {
            var counts = await inbox.UnreadCountsAsync(users, cancellationToken);
            var messages = new Dictionary<int, EventFrames>(); // users with the same count share one serialized message
            foreach (var (userId, unread) in counts)
            {
                if (!messages.TryGetValue(unread, out var message))
                {
                    messages[unread] = message = new EventFrames(ClientTargets.UnreadCount, ClientPayloads.UnreadCount(unread));
                }
                foreach (var connection in registry.ForUser(userId))
                {
                    if (deferredTo is null)
                    {
                        connection.EnqueueEvent(message);
                        continue;
                    }
                    connection.EnqueueDeferredEvent(message);
                    deferredTo.Add(connection);
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogRefreshFailed(logger, users.Count, ex);
        }
        finally
        {
            Interlocked.Increment(ref _queries);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not refresh unread counts of {UserCount} users")]
    private static partial void LogRefreshFailed(ILogger logger, int userCount, Exception exception);
}
