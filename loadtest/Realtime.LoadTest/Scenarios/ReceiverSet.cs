using System.Diagnostics;
using Realtime.LoadTest.Clients;
using Realtime.LoadTest.Measurement;

namespace Realtime.LoadTest.Scenarios;

/// <summary>The receiving clients of a run (storm, latency, fanout), in this process or in worker processes past the per-process fd cap.</summary>
internal abstract class ReceiverSet : IAsyncDisposable
{
    /// <summary>Connects every client; the users that are connected.</summary>
    public abstract Task<string[]> ConnectAsync(ScenarioResult result);

    /// <summary>Clients connected now (in worker processes: as of the last <see cref="StatusAsync"/>).</summary>
    public abstract int Connected { get; }

    /// <summary>From now on each client reconnects and resumes when it drops (the storm).</summary>
    public abstract Task StartReconnectingAsync();

    /// <summary>Clients back and resumed, deliveries so far (measured and warm-up), clients connected.</summary>
    public abstract Task<ReceiverStatus> StatusAsync();

    /// <summary>The warm-up is over: every ledger forgets what it counted so far (<see cref="DeliveryLedger.ResetCounters"/>).</summary>
    public abstract Task ResetCountersAsync();

    /// <summary>Stops; when each client was back (Stopwatch timestamps, 0: never) and the reconnect attempts. The ledger then holds every delivery.</summary>
    public abstract Task<(long[] BackAt, int Attempts)> FinishAsync(DeliveryLedger ledger);

    /// <summary>CPU time of the processes holding the clients.</summary>
    public abstract TimeSpan ToolCpu();

    public abstract ValueTask DisposeAsync();
}

internal sealed class InProcessReceivers(ScenarioContext context, DeliveryLedger ledger) : ReceiverSet
{
    private ClientPool? _pool;
    private ILiveClient[] _clients = [];
    private long[] _back = [];
    private Task[] _reconnects = [];

    public override async Task<string[]> ConnectAsync(ScenarioResult result)
    {
        _pool = await Receivers.ConnectAsync(context, ledger, result);
        _clients = _pool.Clients.Where(c => c.IsConnected).ToArray();
        _back = new long[_clients.Length];
        return _clients.Select(c => _pool.UserId(c.Index)).ToArray();
    }

    public override int Connected => _pool?.Connected ?? 0;

    public override Task StartReconnectingAsync()
    {
        _reconnects = _clients.Select((client, i) => StormScenario.ReconnectAsync(_pool!, client, i, _back, context.CancellationToken)).ToArray();
        return Task.CompletedTask;
    }

    public override Task<ReceiverStatus> StatusAsync() =>
        Task.FromResult(new ReceiverStatus(_back.Count(b => Volatile.Read(ref b) != 0), ledger.Delivered, ledger.WarmupDelivered, Connected));

    public override Task ResetCountersAsync()
    {
        ledger.ResetCounters();
        return Task.CompletedTask;
    }

    public override async Task<(long[] BackAt, int Attempts)> FinishAsync(DeliveryLedger _)
    {
        await Task.WhenAny(Task.WhenAll(_reconnects), Task.Delay(TimeSpan.FromSeconds(1)));
        return (_back, _pool!.ConnectAttempts);
    }

    public override TimeSpan ToolCpu() => Process.GetCurrentProcess().TotalProcessorTime;

    public override async ValueTask DisposeAsync()
    {
        if (_pool is not null)
        {
            await _pool.DisposeAsync();
        }
    }
}

/// <summary>What the receiving clients report while a run goes on.</summary>
internal readonly record struct ReceiverStatus(int Back, long Delivered, long WarmupDelivered, int Connected);
