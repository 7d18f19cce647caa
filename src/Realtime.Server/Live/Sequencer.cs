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
    private readonly TaskCompletionSource<long> _start = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SequenceStore _store;
    private readonly Dispatcher _dispatcher;
    private readonly TimeProvider _time;
    private readonly TimeSpan _gapWait;
    private readonly ILogger<Sequencer> _logger;
    private SequenceBuffer _buffer = new(long.MaxValue);
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

    /// <summary>Start-up: begin right after the last id allocated so far.</summary>
    public async Task RunAsync(CancellationToken cancellationToken) =>
        _start.TrySetResult(await _store.LastAllocatedIdAsync(cancellationToken) + 1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            _buffer = new SequenceBuffer(await _start.Task.WaitAsync(stoppingToken));
            while (!stoppingToken.IsCancellationRequested)
            {
                await ReceiveAsync(stoppingToken);
                while (_inbox.Reader.TryRead(out var batch))
                {
                    _buffer.Add(batch);
                }
                Deliver();
                if (_gapSince is { } since && _time.GetElapsedTime(since) >= _gapWait)
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

    private void Deliver()
    {
        foreach (var notification in _buffer.TakeReady())
        {
            _dispatcher.Deliver(notification);
        }
        if (_buffer.MissingRange is null)
        {
            _gapSince = null;
        }
        else
        {
            _gapSince ??= _time.GetTimestamp();
        }
    }

    /// <summary>Reads the missing range from PostgreSQL; it goes through the buffer like any batch.</summary>
    private async Task FillGapAsync(CancellationToken stoppingToken)
    {
        var (from, to) = _buffer.MissingRange!.Value;
        try
        {
            var missing = await _store.ReadRangeAsync(from, to, stoppingToken);
            LogGapFilled(_logger, from, to, missing.Count);
            _buffer.Add(new NotificationBatch(from, to, missing));
            _gapSince = null;
            Deliver();
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            LogGapReadFailed(_logger, from, to, ex);
            _gapSince = _time.GetTimestamp(); // try again after another wait
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Read missing ids {From}..{To} from PostgreSQL: {Count} notifications")]
    private static partial void LogGapFilled(ILogger logger, long from, long to, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read missing ids {From}..{To} from PostgreSQL; retrying")]
    private static partial void LogGapReadFailed(ILogger logger, long from, long to, Exception exception);
}
