using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Realtime.LoadTest.Measurement;

namespace Realtime.LoadTest.Clients;

/// <summary>
/// The receiving side of a run: <c>count</c> connections of users <c>lt{run}-{offset+i}</c>, opened at a
/// bounded rate and concurrency, kept alive with pings, and (for the storm) reconnected and resumed
/// when they drop.
/// </summary>
internal sealed class ClientPool : IAsyncDisposable
{
    /// <summary>
    /// Each light client pings this often: the server drops a client silent for 30 s, and a machine
    /// saturated by the tool and six nodes stalls for seconds, so a third of that (the official
    /// clients' 15 s left too little margin: 2.5% dropped in a 100,000 ramp)...
    /// </summary>
    private static readonly TimeSpan PingInterval = TimeSpan.FromSeconds(10);

    /// <summary>...each in its own slot of the interval: a share of the clients every second, never all at once.</summary>
    private static readonly TimeSpan PingTick = TimeSpan.FromSeconds(1);
    private readonly LoadTestOptions _options;
    private readonly Target _target;
    private readonly TokenMinter _tokens;
    private readonly ClientSockets[] _sockets; // one per node of the target
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, int> _errors = new(StringComparer.Ordinal);
    private readonly Task _pings;
    private long _connectErrors;
    private int _connectAttempts;

    public ClientPool(LoadTestOptions options, Target target, TokenMinter tokens, DeliveryLedger ledger, int count)
    {
        _options = options;
        _target = target;
        _tokens = tokens;
        _sockets = [.. target.ClientUrls.Select(url => new ClientSockets(url, options.SourceAddresses, options.UserOffset))];
        Clients = new ILiveClient[count];
        for (var i = 0; i < count; i++)
        {
            Clients[i] = Create(i, ledger);
        }
        _pings = PingLoopAsync(_stop.Token);
    }

    public ILiveClient[] Clients { get; }

    public LatencyHistogram ConnectTimes { get; } = new();

    public long ConnectErrors => Interlocked.Read(ref _connectErrors);

    public int Connected => Clients.Count(c => c.IsConnected);

    public IReadOnlyDictionary<string, int> Errors => _errors;

    public string UserId(int index) => UserId(_options, _options.UserOffset + index);

    public static string UserId(LoadTestOptions options, int globalIndex) =>
        "lt" + options.RunId + "-" + globalIndex.ToString(CultureInfo.InvariantCulture);

    /// <summary>Opens every connection, at most <c>--connect-rate</c> per second and <c>--connect-concurrency</c> at once.</summary>
    public async Task<TimeSpan> ConnectAllAsync(CancellationToken cancellationToken)
    {
        using var gate = new SemaphoreSlim(_options.ConnectConcurrency);
        var started = Stopwatch.GetTimestamp();
        var tasks = new List<Task>(Clients.Length);
        for (var i = 0; i < Clients.Length; i++)
        {
            var due = TimeSpan.FromSeconds(i / _options.ConnectRate);
            var wait = due - Stopwatch.GetElapsedTime(started);
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait, cancellationToken);
            }
            await gate.WaitAsync(cancellationToken);
            var client = Clients[i];
            tasks.Add(Task.Run(async () =>
            {
                try
                {
                    await ConnectOnceAsync(client, null, cancellationToken);
                }
                finally
                {
                    gate.Release();
                }
            }, cancellationToken));
        }
        await Task.WhenAll(tasks);
        return Stopwatch.GetElapsedTime(started);
    }

    public int ConnectAttempts => Volatile.Read(ref _connectAttempts);

    /// <summary>How long one attempt may take, connecting and (when resuming) the resume's answer, unless the caller gives its own bound.</summary>
    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(30);

    /// <summary>One connection attempt, bounded by <paramref name="timeout"/> (30 s when not given); failures are counted (by kind), not thrown.</summary>
    public async Task<bool> ConnectOnceAsync(ILiveClient client, long? resumeAfter, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        Interlocked.Increment(ref _connectAttempts);
        var start = Stopwatch.GetTimestamp();
        try
        {
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attempt.CancelAfter(timeout ?? AttemptTimeout);
            await client.ConnectAsync(resumeAfter, attempt.Token);
            ConnectTimes.RecordSince(start);
            return true;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            Interlocked.Increment(ref _connectErrors);
            var kind = ex.GetType().Name + ": " + (ex.Message.Length > 80 ? ex.Message[..80] : ex.Message);
            _errors.AddOrUpdate(kind, 1, (_, n) => n + 1);
            return false;
        }
    }

    private ILiveClient Create(int index, DeliveryLedger ledger)
    {
        var sse = _options.Transport == TransportKind.Sse || (_options.Transport == TransportKind.Mix && index % 2 == 1);
        var token = _tokens.User(UserId(index));
        var node = (_options.UserOffset + index) % _sockets.Length;
        var url = _target.ClientUrls[node];
        var sockets = _sockets[node];
        if (sse)
        {
            return new SseClient(index, url, token, sockets.Http(index), ledger);
        }
        var hub = new Uri(url, "/hubs/notifications?access_token=" + Uri.EscapeDataString(token));
        var wsHub = new UriBuilder(hub) { Scheme = hub.Scheme == "https" ? "wss" : "ws" }.Uri;
        return _options.Client == ClientKind.Official
            ? new OfficialHubClient(index, hub, sockets.Invoker(index), ledger, _options.MessagePack)
            : new LightHubClient(index, wsHub, sockets.Invoker(index), ledger);
    }

    private async Task PingLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            // Real clients connect at different times, so their pings do not come in one burst: a burst of
            // every client's ping at once would be a load spike of the tool's making.
            var slots = (int)(PingInterval / PingTick);
            var slot = 0;
            using var timer = new PeriodicTimer(PingTick);
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                for (var i = slot; i < Clients.Length; i += slots)
                {
                    if (Clients[i] is LightHubClient light)
                    {
                        _ = light.PingAsync();
                    }
                }
                slot = (slot + 1) % slots;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _pings;
        foreach (var client in Clients)
        {
            await client.DisposeAsync();
        }
        foreach (var sockets in _sockets)
        {
            sockets.Dispose();
        }
        _stop.Dispose();
    }
}
