using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Realtime.Server.Bus;
using Realtime.Server.Presence;
using Realtime.Server.Storage;

namespace Realtime.Server.Push;

/// <summary>
/// Tails the notification log after commit with its own cursor (in PostgreSQL) and writes a push
/// job for every subscription of each recipient who had no live connection anywhere when the
/// notification was committed, unless their preferences say otherwise (<see cref="PushSchedule"/>:
/// push off, or held until their quiet hours end). Every node runs one; the node holding the cursor row's lock plans,
/// the others skip that round, so each notification is planned once. The send path stays as it
/// is: no outbox rows in its transaction. Woken by every committed batch on the bus, and polls.
/// </summary>
internal sealed class PushPlanner : BackgroundService
{
    /// <summary>Notifications per planning transaction.</summary>
    private const int BatchSize = 1_000;

    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly PushOutboxStore _store;
    private readonly PushSchedule _schedule;
    private readonly PushWorker _worker;
    private readonly StartupGate _gate;
    private readonly TimeProvider _time;
    private readonly PushOptions _options;
    private readonly PresenceOptions _presence;
    private readonly ILogger<PushPlanner> _logger;

    public PushPlanner(PushOutboxStore store, PushSchedule schedule, PushWorker worker, IMessageBus bus, StartupGate gate, TimeProvider time,
        IOptions<PushOptions> options, IOptions<PresenceOptions> presence, ILogger<PushPlanner> logger)
    {
        _store = store;
        _schedule = schedule;
        _worker = worker;
        _gate = gate;
        _time = time;
        _options = options.Value;
        _presence = presence.Value;
        _logger = logger;
        bus.OnBatch(_ => _wake.Writer.TryWrite(true));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await _gate.WhenOpen.WaitAsync(stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                var wait = _options.PollInterval;
                try
                {
                    var now = _time.GetUtcNow().UtcDateTime;
                    var result = await _store.PlanAsync(now, now - _options.PlanningDelay, now - _presence.NodeTimeout,
                        TimeSpan.FromSeconds(_options.MaxTtlSeconds), BatchSize, _schedule, stoppingToken);
                    if (result is not null)
                    {
                        if (result.Jobs > 0)
                        {
                            PushLog.Planned(_logger, result.LastId, result.Jobs);
                            _worker.Wake();
                        }
                        if (result.More)
                        {
                            continue;
                        }
                        if (result.NextSettlesAt is { } settles && settles + _options.PlanningDelay - now is var untilSettled && untilSettled < wait)
                        {
                            wait = untilSettled < TimeSpan.FromMilliseconds(5) ? TimeSpan.FromMilliseconds(5) : untilSettled;
                        }
                    }
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    PushLog.PlanningFailed(_logger, ex);
                    wait = TimeSpan.FromSeconds(1);
                }
                await WaitAsync(wait, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task WaitAsync(TimeSpan timeout, CancellationToken stoppingToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        cts.CancelAfter(timeout);
        try
        {
            await _wake.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
        }
    }
}
