using System.Threading.Channels;
using Npgsql;
using Realtime.Server.Contracts;
using Realtime.Server.Notifications;

namespace Realtime.Server.Live;

/// <summary>
/// The reads of a resume, coalesced across connections: every resume waiting while a read runs
/// goes into the next one, which takes one pooled connection and two statements for all of them
/// (each user's page after their cursor, then their unread counts), where each resume alone took
/// two connections and two statements. After a node restart every client resumes at once; this
/// keeps that storm to a few round trips. A lone resume costs what it did (a batch of one).
/// </summary>
/// <remarks>
/// The page and the count keep the order a single resume had: the count is read after the page,
/// so a notification committed in between is counted and then arrives live, as before.
/// </remarks>
internal sealed partial class ResumeReader : BackgroundService
{
    /// <summary>Resumes per read: large enough to swallow a storm in few round trips, small enough for a short statement.</summary>
    public const int MaxBatch = 200;

    private readonly Channel<Request> _requests = Channel.CreateUnbounded<Request>(new UnboundedChannelOptions { SingleReader = true });
    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _time;
    private readonly ILogger<ResumeReader> _logger;

    public ResumeReader(NpgsqlDataSource dataSource, TimeProvider time, ILogger<ResumeReader> logger)
    {
        _dataSource = dataSource;
        _time = time;
        _logger = logger;
    }

    /// <summary>The first <paramref name="take"/> notifications of <paramref name="userId"/> above <paramref name="afterId"/>, and the user's unread count read after them.</summary>
    public async Task<ResumePage> ReadAsync(string userId, long afterId, int take, CancellationToken cancellationToken)
    {
        var request = new Request(userId, afterId, take);
        if (!_requests.Writer.TryWrite(request))
        {
            throw new InvalidOperationException("The node is stopping.");
        }
        return await request.Result.Task.WaitAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Request>(MaxBatch);
        try
        {
            while (await _requests.Reader.WaitToReadAsync(stoppingToken))
            {
                batch.Clear();
                while (batch.Count < MaxBatch && _requests.Reader.TryRead(out var request))
                {
                    batch.Add(request);
                }
                await ReadBatchAsync(batch, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _requests.Writer.TryComplete();
            while (_requests.Reader.TryRead(out var left))
            {
                left.Result.TrySetCanceled(stoppingToken);
            }
            foreach (var request in batch)
            {
                request.Result.TrySetCanceled(stoppingToken);
            }
        }
    }

    /// <summary>One read for every request of the batch; a failure fails each of them (each resume reports its own error).</summary>
    private async Task ReadBatchAsync(List<Request> batch, CancellationToken stoppingToken)
    {
        try
        {
            var now = _time.GetUtcNow().UtcDateTime;
            await using var connection = await _dataSource.OpenConnectionAsync(stoppingToken);
            // One take for the whole batch (requests share the configured page size); a smaller one is cut below.
            var pages = await InboxStore.ReadPagesAfterAsync(connection, batch.Select(r => (r.UserId, r.AfterId)).ToArray(), batch.Max(r => r.Take), now, stoppingToken);
            for (var i = 0; i < batch.Count; i++)
            {
                if (pages[i].Count > batch[i].Take)
                {
                    pages[i].RemoveRange(batch[i].Take, pages[i].Count - batch[i].Take);
                }
            }
            var counts = await UnreadCounts.ReadAsync(connection, null, batch.Select(r => r.UserId).Distinct(StringComparer.Ordinal).ToArray(), now, stoppingToken);
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Result.TrySetResult(new ResumePage(pages[i], counts[batch[i].UserId]));
            }
            if (batch.Count > 1)
            {
                LogCoalesced(_logger, batch.Count);
            }
        }
        catch (Exception ex)
        {
            foreach (var request in batch)
            {
                request.Result.TrySetException(ex);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Read {Count} resumes in one round trip")]
    private static partial void LogCoalesced(ILogger logger, int count);

    private sealed record Request(string UserId, long AfterId, int Take)
    {
        public TaskCompletionSource<ResumePage> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>The first page of a resume and the user's unread count, read after it.</summary>
internal sealed record ResumePage(IReadOnlyList<Notification> Page, int UnreadCount);
