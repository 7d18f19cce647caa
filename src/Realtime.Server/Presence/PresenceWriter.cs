using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Realtime.Server.Live;
using Realtime.Server.Storage;

namespace Realtime.Server.Presence;

/// <summary>
/// Keeps this node's rows in PostgreSQL: registers the node at start-up, writes connections as
/// they open and close (the registry's handlers only enqueue; one loop writes small batches, one
/// round trip each, well under a second after the event), heartbeats every third of the node
/// timeout (its own row only; every <see cref="PresenceOptions.ReconcileInterval"/>, when it was
/// taken for dead, or after a dropped write, also its connection rows whole), and closes its own
/// rows at shutdown. While PostgreSQL is unreachable events wait and
/// the write is retried: nothing is lost. One loop does the writes and the heartbeats, so a
/// heartbeat never races a batch; housekeeping (closing the connections of dead nodes, purging
/// old rows) has a loop of its own, so it never holds a write back.
/// </summary>
internal sealed class PresenceWriter : BackgroundService, IStartupTask
{
    /// <summary>Events per statement: small enough for a quick round trip, large enough for a reconnect storm.</summary>
    public const int MaxBatch = 1_000;

    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(2);

    /// <summary>A failure that is not an outage (a bug, bad data) is retried this often, then the batch is dropped.</summary>
    private const int MaxAttemptsOnError = 3;

    /// <summary>How long shutdown waits to close this node's rows (others sweep them after the node timeout otherwise).</summary>
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(5);

    private readonly Channel<PresenceEvent> _events = Channel.CreateUnbounded<PresenceEvent>(new UnboundedChannelOptions { SingleReader = true });

    // This node's live connections as written (or being written): the set each heartbeat refreshes. Loop only.
    // The connections themselves, whose records are made when a heartbeat reconciles: a record kept
    // per connection would be memory per idle connection.
    private readonly Dictionary<string, LiveConnection> _live = new(StringComparer.Ordinal);

    private readonly PresenceStore _store;
    private readonly StartupGate _gate;
    private readonly TimeProvider _time;
    private readonly PresenceOptions _options;
    private readonly ILogger<PresenceWriter> _logger;
    private int _registered;
    private readonly Lock _closeLock = new();
    private Task? _closing;

    // Loop only: when this node's connection rows were last reconciled, and whether they must be at the next heartbeat.
    private long _reconciledAt;
    private bool _reconcileDue;

    public PresenceWriter(PresenceStore store, StartupGate gate, TimeProvider time, IOptions<PresenceOptions> options, ILogger<PresenceWriter> logger)
    {
        _store = store;
        _gate = gate;
        _time = time;
        _options = options.Value;
        _logger = logger;
    }

    /// <summary>A connection opened on this node; only enqueues. Wired in <see cref="PresenceApi.RecordConnections"/>.</summary>
    public void ConnectionOpened(LiveConnection connection) => _events.Writer.TryWrite(new Opened(connection));

    /// <summary>A connection of this node closed; only enqueues.</summary>
    public void ConnectionClosed(LiveConnection connection) => _events.Writer.TryWrite(new Closed(connection.Id, _time.GetUtcNow().UtcDateTime));

    /// <summary>Start-up: the node is alive before it takes any connection.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await _store.RegisterNodeAsync(cancellationToken);
        Volatile.Write(ref _registered, 1);
        PresenceLog.NodeRegistered(_logger, _store.NodeId, _options.NodeTimeoutSeconds);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await _gate.WhenOpen.WaitAsync(stoppingToken);
            _reconciledAt = _time.GetTimestamp();
            await Task.WhenAll(TickAsync(stoppingToken), WriteLoopAsync(stoppingToken), HousekeepingLoopAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Shutdown: stop writing, then close this node's connections and remove its row. A host may
    /// be stopped twice at once (WebApplicationFactory's dispose and the app's own Run both stop
    /// it): the rows are closed once, and every stop waits for that close, so none returns while
    /// the node is still listed.
    /// </summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        Task closing;
        lock (_closeLock)
        {
            closing = _closing ??= CloseOwnRowsAsync(cancellationToken);
        }
        await closing.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Closes this node's connections and removes its row; logs instead of throwing.</summary>
    private async Task CloseOwnRowsAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _registered) == 0)
        {
            return; // never registered: there is no row to close
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CloseTimeout);
        try
        {
            var closed = await _store.CloseNodeAsync(timeout.Token);
            PresenceLog.NodeClosed(_logger, _store.NodeId, closed);
        }
        catch (Exception ex)
        {
            PresenceLog.NodeCloseFailed(_logger, _store.NodeId, _options.NodeTimeoutSeconds, ex.Message);
        }
    }

    private async Task TickAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.HeartbeatInterval, _time);
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            _events.Writer.TryWrite(HeartbeatDue.Instance);
        }
    }

    private async Task WriteLoopAsync(CancellationToken stoppingToken)
    {
        var batch = new PresenceBatch();
        var heartbeatDue = false;
        var failures = 0;
        while (true)
        {
            if (batch.IsEmpty && !heartbeatDue && !await _events.Reader.WaitToReadAsync(stoppingToken))
            {
                return;
            }
            while (batch.Count < MaxBatch && _events.Reader.TryRead(out var next))
            {
                switch (next)
                {
                    case Opened { Connection: var connection }:
                        batch.Open(ConnectionRecord.From(connection));
                        _live[connection.Id] = connection;
                        break;
                    case Closed closed:
                        batch.Close(closed.Id, closed.At);
                        _live.Remove(closed.Id);
                        break;
                    case HeartbeatDue:
                        heartbeatDue = true;
                        break;
                }
            }

            var step = "write";
            try
            {
                if (!batch.IsEmpty)
                {
                    try
                    {
                        await _store.WriteAsync(batch, stoppingToken);
                    }
                    catch (Exception ex) when (DatabaseErrors.IsRefusedData(ex) && !stoppingToken.IsCancellationRequested)
                    {
                        await WriteOneByOneAsync(batch, stoppingToken);
                    }
                    PresenceLog.BatchWritten(_logger, batch.Opened.Count, batch.Closed.Count);
                    batch.Clear();
                }
                if (heartbeatDue)
                {
                    step = "heartbeat";
                    await HeartbeatAsync(stoppingToken);
                    heartbeatDue = false;
                }
                if (failures > 0)
                {
                    PresenceLog.Recovered(_logger, failures);
                    failures = 0;
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                failures++;
                var outage = DatabaseErrors.IsUnavailable(ex);
                if (failures == 1)
                {
                    PresenceLog.WriteFailed(_logger, step, batch.Count, ex);
                }
                if (outage)
                {
                    // Heartbeat as soon as the database is back: the others may have taken this node for dead.
                    heartbeatDue = true;
                }
                else if (failures >= MaxAttemptsOnError)
                {
                    PresenceLog.Dropped(_logger, step, batch.Count, failures, ex);
                    batch.Clear();
                    _reconcileDue = true; // rows the dropped batch should have opened or closed are put right
                    heartbeatDue = step != "heartbeat"; // a failed write must not cost the heartbeat
                    failures = 0;
                    continue;
                }
                await Task.Delay(RetryDelay(failures), _time, stoppingToken);
            }
        }
    }

    /// <summary>
    /// A batch PostgreSQL refused: each event goes alone, and one it still refuses is logged and
    /// dropped (its connection is no longer reconciled by heartbeats either), so one bad row never
    /// holds the others back. Throws when every event fails alike: that is no row's fault.
    /// </summary>
    private async Task WriteOneByOneAsync(PresenceBatch batch, CancellationToken cancellationToken)
    {
        var single = new PresenceBatch();
        var failed = 0;
        Exception? last = null;
        var events = batch.Opened.Select(c => (Id: c.Id, Write: (Action<PresenceBatch>)(b => b.Open(c))))
            .Concat(batch.Closed.Select(kv => (Id: kv.Key, Write: (Action<PresenceBatch>)(b => b.Close(kv.Key, kv.Value)))))
            .ToList();
        foreach (var (id, write) in events)
        {
            single.Clear();
            write(single);
            try
            {
                await _store.WriteAsync(single, cancellationToken);
            }
            catch (Exception ex) when (DatabaseErrors.IsRefusedData(ex) && !cancellationToken.IsCancellationRequested)
            {
                failed++;
                last = ex;
                _live.Remove(id);
                PresenceLog.RowDropped(_logger, id, ex.Message);
            }
        }
        if (failed == events.Count && events.Count > 1 && last is not null)
        {
            throw last;
        }
    }

    /// <summary>
    /// The node's own row first, alone; then, when due, its connections, where a row PostgreSQL
    /// refuses is dropped alone. A reconcile that fails stays due, so an outage between the two
    /// does not lose the one a revival asked for.
    /// </summary>
    private async Task HeartbeatAsync(CancellationToken cancellationToken)
    {
        if (await _store.HeartbeatAsync(cancellationToken))
        {
            PresenceLog.Revived(_logger, _store.NodeId, _live.Count);
            _reconcileDue = true; // the others closed its rows (and may have purged them)
        }
        if (!_reconcileDue && _time.GetElapsedTime(_reconciledAt) < _options.ReconcileInterval)
        {
            return;
        }
        foreach (var id in await _store.ReconcileAsync(_live.Values.Select(ConnectionRecord.From).ToList(), cancellationToken))
        {
            _live.Remove(id);
            PresenceLog.RowDropped(_logger, id, "refused while reconciling");
        }
        _reconcileDue = false;
        _reconciledAt = _time.GetTimestamp();
    }

    /// <summary>
    /// Every heartbeat interval: closes the connections of dead nodes and purges old rows (one
    /// node at a time). After a failed pass (an outage) one pass is skipped, so that the other
    /// nodes, silent only because the database was, get to heartbeat before anyone sweeps them.
    /// </summary>
    private async Task HousekeepingLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.HeartbeatInterval, _time);
        var failed = false;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            if (failed)
            {
                failed = false;
                continue;
            }
            try
            {
                if (await _store.HousekeepAsync(stoppingToken) is not { } done)
                {
                    continue; // another node is at it
                }
                if (done.DeadNodes + done.ClosedConnections > 0)
                {
                    PresenceLog.Swept(_logger, done.DeadNodes, done.ClosedConnections);
                }
                if (done.PurgedRows > 0)
                {
                    PresenceLog.Purged(_logger, done.PurgedRows);
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                failed = true;
                PresenceLog.HousekeepingFailed(_logger, ex.Message);
            }
        }
    }

    private static TimeSpan RetryDelay(int failures) =>
        TimeSpan.FromTicks(Math.Min(MaxRetryDelay.Ticks, FirstRetryDelay.Ticks << Math.Min(failures - 1, 16)));

    private abstract record PresenceEvent;

    private sealed record Opened(LiveConnection Connection) : PresenceEvent;

    private sealed record Closed(string Id, DateTime At) : PresenceEvent;

    private sealed record HeartbeatDue : PresenceEvent
    {
        public static readonly HeartbeatDue Instance = new();
    }
}
