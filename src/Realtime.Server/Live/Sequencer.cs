using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Realtime.Server.Bus;
using Realtime.Server.Observability;
using Realtime.Server.Operations;
using Realtime.Server.Storage;

namespace Realtime.Server.Live;

/// <summary>
/// Turns the batches arriving from the bus (from every node, in any order, some perhaps lost) into
/// one stream in strict id order for the dispatcher. A missing range is waited for briefly and
/// then read from PostgreSQL: ids grow in commit order, so once a later batch has committed,
/// everything below it is final (committed, or rolled back and absent). When nothing is heard for
/// a while, or the bus is down, it polls PostgreSQL for ids past the last it delivered.
/// </summary>
/// <remarks>
/// The thread that hands in a batch (the committing one, for this node's own batches) delivers it
/// at once when no one else is delivering, rather than waking the loop, a thread-pool hop that
/// costs most when the pool is busiest. Whoever holds <c>_gate</c> delivers; the loop only waits,
/// fills gaps and polls, and picks up whatever arrived while someone else held it.
/// </remarks>
internal sealed partial class Sequencer : BackgroundService, IStartupTask
{
    private const int PollLimit = 1_000;
    private static readonly TimeSpan FastPollingAfterReconnect = TimeSpan.FromSeconds(5);

    /// <summary>Queued to end the loop's wait when the bus drops; not a batch, and nothing heard.</summary>
    private static readonly NotificationBatch BusDropped = new(0, -1, []);

    private readonly Channel<NotificationBatch> _inbox = Channel.CreateUnbounded<NotificationBatch>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TaskCompletionSource<long> _start = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly IMessageBus _bus;
    private readonly SequenceStore _store;
    private readonly Dispatcher _dispatcher;
    private readonly TimeProvider _time;
    private readonly LiveOptions _options;
    private readonly ILogger<Sequencer> _logger;
    private readonly RealtimeMetrics _metrics;
    // Guarded by _gate: the buffer, when the gap was first seen and when anything was last heard.
    private readonly Lock _gate = new();
    private SequenceBuffer _buffer = new(long.MaxValue);
    private volatile bool _started;
    private long? _gapSince;
    private long _lastHeard;
    private long _reconnectedAt;

    public Sequencer(IMessageBus bus, SequenceStore store, Dispatcher dispatcher, TimeProvider time, IOptions<LiveOptions> options, ILogger<Sequencer> logger, RealtimeMetrics metrics)
    {
        _metrics = metrics;
        _bus = bus;
        _store = store;
        _dispatcher = dispatcher;
        _time = time;
        _options = options.Value;
        _logger = logger;
    }

    /// <summary>
    /// A batch from the bus (any node, any order), wired in <see cref="LiveSetup.SubscribeLiveToBus"/>:
    /// queued, then delivered on this thread if nobody is delivering (never waits for the gate).
    /// </summary>
    public void Receive(NotificationBatch batch)
    {
        _inbox.Writer.TryWrite(batch);
        if (_started && _gate.TryEnter())
        {
            try
            {
                TakeInbox();
                Deliver();
            }
            finally
            {
                _gate.Exit();
            }
        }
    }

    /// <summary>The bus is back after an outage: poll fast for a while to catch up.</summary>
    public void BusReconnected() => Volatile.Write(ref _reconnectedAt, _time.GetTimestamp());

    /// <summary>The bus dropped: the loop's wait (an idle poll's length) ends now, and it polls at the outage pace.</summary>
    public void BusDisconnected() => _inbox.Writer.TryWrite(BusDropped);

    /// <summary>Start-up: begin right after the last id allocated so far.</summary>
    public async Task RunAsync(CancellationToken cancellationToken) =>
        _start.TrySetResult(await _store.LastAllocatedIdAsync(cancellationToken) + 1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var first = await _start.Task.WaitAsync(stoppingToken);
            lock (_gate)
            {
                _buffer = new SequenceBuffer(first);
                _lastHeard = _time.GetTimestamp();
                _started = true;
            }
            while (!stoppingToken.IsCancellationRequested)
            {
                await ReceiveAsync(stoppingToken);
                bool fillGap, poll;
                lock (_gate)
                {
                    TakeInbox();
                    Deliver();
                    fillGap = _gapSince is { } since && _time.GetElapsedTime(since) >= _options.GapWait;
                    poll = _time.GetElapsedTime(_lastHeard) >= PollInterval;
                }
                if (fillGap)
                {
                    await FillGapAsync(stoppingToken);
                }
                if (poll)
                {
                    await PollAsync(stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    internal TimeSpan PollInterval =>
        !_bus.IsConnected || (Volatile.Read(ref _reconnectedAt) is var at and not 0 && _time.GetElapsedTime(at) < FastPollingAfterReconnect)
            ? _options.OutagePollInterval
            : _bus.IsLocal && _options.LocalIdlePollInterval > _options.IdlePollInterval
                ? _options.LocalIdlePollInterval
                : _options.IdlePollInterval;

    /// <summary>
    /// Waits for the next batch, but no longer than the gap wait or the next poll. A bus that drops
    /// meanwhile wakes it (<see cref="IMessageBus.Disconnected"/>), so an idle node wakes once per
    /// idle poll, not every outage poll interval just to look at the bus. The timeout ends the wait
    /// without an exception.
    /// </summary>
    private async Task ReceiveAsync(CancellationToken stoppingToken)
    {
        TimeSpan wait;
        lock (_gate)
        {
            wait = PollInterval - _time.GetElapsedTime(_lastHeard);
            if (_gapSince is { } since && _options.GapWait - _time.GetElapsedTime(since) is var gapLeft && gapLeft < wait)
            {
                wait = gapLeft;
            }
        }
        if (wait <= TimeSpan.Zero)
        {
            return;
        }
        await _inbox.Reader.WaitToReadOrTimeoutAsync(wait, stoppingToken);
    }

    /// <summary>Moves what the bus handed in into the buffer; under <c>_gate</c>.</summary>
    private void TakeInbox()
    {
        while (_inbox.Reader.TryRead(out var batch))
        {
            if (ReferenceEquals(batch, BusDropped))
            {
                continue;
            }
            _buffer.Add(batch);
            _lastHeard = _time.GetTimestamp();
        }
    }

    /// <summary>Hands the dispatcher everything ready, in id order; under <c>_gate</c>.</summary>
    private void Deliver()
    {
        var ready = _buffer.TakeReady();
        if (ready.Count > 0)
        {
            _dispatcher.Deliver(ready); // together: consecutive broadcasts go out as one run
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
        (long From, long To)? range;
        lock (_gate)
        {
            range = _buffer.MissingRange; // a batch handed in meanwhile may have closed it
        }
        if (range is not var (from, to))
        {
            return;
        }
        try
        {
            var missing = await _store.ReadRangeAsync(from, to, stoppingToken);
            LogGapFilled(_logger, from, to, missing.Count);
            _metrics.GapRead();
            lock (_gate)
            {
                _buffer.Add(new NotificationBatch(from, to, missing));
                _gapSince = null;
                Deliver();
            }
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            LogGapReadFailed(_logger, from, to, ex);
            lock (_gate)
            {
                _gapSince = _time.GetTimestamp(); // try again after another wait
            }
        }
    }

    /// <summary>Asks PostgreSQL for anything past what was delivered: everything up to the highest id found is settled.</summary>
    private async Task PollAsync(CancellationToken stoppingToken)
    {
        long from;
        lock (_gate)
        {
            from = _buffer.NextExpectedId;
        }
        try
        {
            var found = await _store.ReadFromAsync(from, PollLimit, stoppingToken);
            if (found.Count > 0)
            {
                LogPolled(_logger, from, found[^1].Id, found.Count);
                _metrics.Polled(found.Count);
            }
            lock (_gate)
            {
                _lastHeard = found.Count == PollLimit ? 0 : _time.GetTimestamp(); // a full page: poll again at once
                if (found.Count > 0)
                {
                    _buffer.Add(new NotificationBatch(from, found[^1].Id, found));
                    Deliver();
                }
            }
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            LogPollFailed(_logger, from, ex.Message);
            lock (_gate)
            {
                _lastHeard = _time.GetTimestamp();
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Read missing ids {From}..{To} from PostgreSQL: {Count} notifications")]
    private static partial void LogGapFilled(ILogger logger, long from, long to, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read missing ids {From}..{To} from PostgreSQL; retrying")]
    private static partial void LogGapReadFailed(ILogger logger, long from, long to, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Polled PostgreSQL from id {From}: {Count} notifications up to {To}")]
    private static partial void LogPolled(ILogger logger, long from, long to, int count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Polling PostgreSQL from id {From} failed: {Reason}")]
    private static partial void LogPollFailed(ILogger logger, long from, string reason);
}
