using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Realtime.Server.Bus;
using Realtime.Server.Storage;

namespace Realtime.Server.Live;

/// <summary>
/// Turns the batches arriving from the bus (from every node, in any order, some perhaps lost) into
/// one stream in strict id order for the dispatcher. A missing range is waited for briefly and
/// then read from PostgreSQL: ids grow in commit order, so once a later batch has committed,
/// everything below it is final (committed, or rolled back and absent).
/// </summary>
internal sealed partial class Sequencer : BackgroundService, IStartupTask
{
    private readonly Channel<NotificationBatch> _inbox = Channel.CreateUnbounded<NotificationBatch>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SortedDictionary<long, NotificationBatch> _pending = [];
    private readonly TaskCompletionSource<long> _start = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SequenceStore _store;
    private readonly Dispatcher _dispatcher;
    private readonly TimeProvider _time;
    private readonly TimeSpan _gapWait;
    private readonly ILogger<Sequencer> _logger;
    private long _nextExpected;
    private long? _gapSince;

    public Sequencer(IMessageBus bus, SequenceStore store, Dispatcher dispatcher, TimeProvider time, IOptions<LiveOptions> options, ILogger<Sequencer> logger)
    {
        _store = store;
        _dispatcher = dispatcher;
        _time = time;
        _gapWait = options.Value.GapWait;
        _logger = logger;
        bus.OnBatch(batch => _inbox.Writer.TryWrite(batch));
    }

    /// <summary>The next id this node expects to deliver.</summary>
    public long NextExpectedId => Volatile.Read(ref _nextExpected);

    /// <summary>Start-up: begin right after the last id allocated so far.</summary>
    public async Task RunAsync(CancellationToken cancellationToken) =>
        _start.TrySetResult(await _store.LastAllocatedIdAsync(cancellationToken) + 1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            Volatile.Write(ref _nextExpected, await _start.Task.WaitAsync(stoppingToken));
            while (!stoppingToken.IsCancellationRequested)
            {
                await ReceiveAsync(stoppingToken);
                while (_inbox.Reader.TryRead(out var batch))
                {
                    Accept(batch);
                }
                DeliverInOrder();
                if (GapWaitIsOver())
                {
                    await FillGapAsync(stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Waits for the next batch; while a range is missing, no longer than its gap wait.</summary>
    private async Task ReceiveAsync(CancellationToken stoppingToken)
    {
        if (_gapSince is not { } since)
        {
            await _inbox.Reader.WaitToReadAsync(stoppingToken);
            return;
        }
        var remaining = _gapWait - _time.GetElapsedTime(since);
        if (remaining <= TimeSpan.Zero)
        {
            return;
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(remaining);
        try
        {
            await _inbox.Reader.WaitToReadAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void Accept(NotificationBatch batch)
    {
        if (batch.LastId < _nextExpected)
        {
            return; // already delivered (our own batch echoed, or read from PostgreSQL)
        }
        _pending.TryAdd(batch.FirstId, batch);
    }

    private void DeliverInOrder()
    {
        while (_pending.Count > 0)
        {
            var (firstId, batch) = _pending.First();
            if (firstId > _nextExpected)
            {
                _gapSince ??= _time.GetTimestamp();
                return;
            }
            _pending.Remove(firstId);
            if (batch.LastId < _nextExpected)
            {
                continue;
            }
            foreach (var notification in batch.Items)
            {
                if (notification.Id >= _nextExpected)
                {
                    _dispatcher.Deliver(notification);
                }
            }
            Volatile.Write(ref _nextExpected, batch.LastId + 1);
        }
        _gapSince = null;
    }

    private bool GapWaitIsOver() => _gapSince is { } since && _time.GetElapsedTime(since) >= _gapWait;

    /// <summary>Reads the missing range (up to the next batch we hold) from PostgreSQL and delivers it.</summary>
    private async Task FillGapAsync(CancellationToken stoppingToken)
    {
        var to = _pending.First().Key - 1;
        try
        {
            var missing = await _store.ReadRangeAsync(_nextExpected, to, stoppingToken);
            LogGapFilled(_logger, _nextExpected, to, missing.Count);
            foreach (var notification in missing)
            {
                _dispatcher.Deliver(notification);
            }
            Volatile.Write(ref _nextExpected, to + 1);
            _gapSince = null;
            DeliverInOrder();
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            LogGapReadFailed(_logger, _nextExpected, to, ex);
            _gapSince = _time.GetTimestamp(); // try again after another wait
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Read missing ids {From}..{To} from PostgreSQL: {Count} notifications")]
    private static partial void LogGapFilled(ILogger logger, long from, long to, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read missing ids {From}..{To} from PostgreSQL; retrying")]
    private static partial void LogGapReadFailed(ILogger logger, long from, long to, Exception exception);
}
