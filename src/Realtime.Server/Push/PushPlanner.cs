using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Realtime.Server.Bus;
using Realtime.Server.Presence;
using Realtime.Server.Operations;
using Realtime.Server.Storage;

namespace Realtime.Server.Push;

/// <summary>
/// Tails the notification log after commit with its own cursor (in PostgreSQL) and writes a push
/// job for every subscription of each recipient who had no live connection anywhere when the
/// notification was committed, unless their preferences say otherwise (<see cref="PushSchedule"/>:
/// push off, or held until their quiet hours end). Every node runs one; the node holding the cursor row's lock plans,
/// the others skip that round, so each notification is planned once. The send path stays as it
/// is: no outbox rows in its transaction. Woken by every committed batch on the bus, and polls;
/// under load it plans at most every <see cref="RoundsPerPlanningDelay"/>th of the planning delay
/// (a round per committed batch would be a transaction every few milliseconds, each for a handful
/// of notifications), so a push waits at most that much longer than the planning delay.
/// </summary>
internal sealed class PushPlanner : BackgroundService
{
    /// <summary>Notifications per planning transaction.</summary>
    private const int BatchSize = 1_000;

    /// <summary>Rounds at most every tenth of <see cref="PushOptions.PlanningDelay"/> (100 ms by default) while notifications keep coming.</summary>
    private const int RoundsPerPlanningDelay = 10;

    /// <summary>The shortest wait for a notification about to settle.</summary>
    private static readonly TimeSpan MinSettleWait = TimeSpan.FromMilliseconds(5);

    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly PushOutboxStore _store;
    private readonly PushSchedule _schedule;
    private readonly PushWorker _worker;
    private readonly StartupGate _gate;
    private readonly TimeProvider _time;
    private readonly PushOptions _options;
    private readonly PresenceOptions _presence;
    private readonly ILogger<PushPlanner> _logger;
    private long _rounds;

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

    /// <summary>Planning rounds run so far (each one transaction), for tests.</summary>
    internal long Rounds => Interlocked.Read(ref _rounds);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await _gate.WhenOpen.WaitAsync(stoppingToken);
            var roundInterval = _options.PlanningDelay / RoundsPerPlanningDelay;
            var idleRounds = 0;
            while (!stoppingToken.IsCancellationRequested)
            {
                _wake.Reader.TryRead(out _); // this round reads every batch committed so far
                var roundStarted = _time.GetTimestamp();
                Interlocked.Increment(ref _rounds);
                var wait = _options.IdlePoll(idleRounds);
                var wakeable = true;
                try
                {
                    var now = _time.GetUtcNow().UtcDateTime;
                    var result = await _store.PlanAsync(now, now - _options.PlanningDelay, now - _presence.NodeTimeout,
                        TimeSpan.FromSeconds(_options.MaxTtlSeconds), BatchSize, _schedule, stoppingToken);
                    // Nothing planned and nothing about to settle (or another node plans): the next poll comes later.
                    idleRounds = result is null || (result.Jobs == 0 && !result.More && result.NextSettlesAt is null) ? idleRounds + 1 : 0;
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
                        if (result.NextSettlesAt is { } settles)
                        {
                            // A batch committed later settles later: until this one settles, a wake brings nothing to plan.
                            wakeable = false;
                            var untilSettled = settles + _options.PlanningDelay - now;
                            wait = untilSettled < MinSettleWait ? MinSettleWait : untilSettled < wait ? untilSettled : wait;
                        }
                    }
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    PushLog.PlanningFailed(_logger, ex);
                    wait = TimeSpan.FromSeconds(1);
                    wakeable = false;
                }
                var nextRound = roundInterval - _time.GetElapsedTime(roundStarted);
                if (!wakeable)
                {
                    await Task.Delay(wait > nextRound ? wait : nextRound, _time, stoppingToken);
                    continue;
                }
                await WaitAsync(wait, stoppingToken);
                nextRound = roundInterval - _time.GetElapsedTime(roundStarted);
                if (nextRound > TimeSpan.Zero)
                {
                    await Task.Delay(nextRound, _time, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task WaitAsync(TimeSpan timeout, CancellationToken stoppingToken)
    {
        await _wake.Reader.WaitToReadOrTimeoutAsync(timeout, stoppingToken);
        _wake.Reader.TryRead(out _);
    }
}
