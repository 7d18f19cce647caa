using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Realtime.LoadTest.Clients;
using Realtime.LoadTest.Measurement;

namespace Realtime.LoadTest.Scenarios;

/// <summary>
/// The receiving clients of a run (storm, latency, fanout) in worker processes (each at most <c>--per-process</c>, under the fd cap).
/// Lines on stdin: <c>STORM</c> (reconnect and resume on drop from now on), <c>STATUS</c> (answered
/// <c>STATUS back delivered cpu-ms warm-up-delivered connected</c>), <c>RESET</c> (the warm-up is over: forget the
/// counts so far), <c>END</c> (answered <c>RESULT {json}</c>: when each client was back, its
/// deliveries per sequence number and latencies, which the parent merges into its ledger).
/// Stopwatch timestamps are the machine's monotonic clock, comparable across processes.
/// </summary>
internal sealed class ReceiverWorkers(ScenarioContext context, string[] rawArgs) : ReceiverSet
{
    private const string Ready = "READY ";
    private const string Status = "STATUS ";
    private const string Result = "RESULT ";
    private static readonly JsonSerializerOptions Json = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
    private readonly List<WorkerProcess> _workers = [];
    private readonly SemaphoreSlim _lock = new(1, 1);
    private TimeSpan _workersCpu;
    private int _connected;

    public override async Task<string[]> ConnectAsync(ScenarioResult result)
    {
        var options = context.Options;
        var count = (options.Connections + options.PerProcess - 1) / options.PerProcess;
        var start = Stopwatch.GetTimestamp();
        for (var w = 0; w < count; w++)
        {
            var share = Math.Min(options.PerProcess, options.Connections - w * options.PerProcess);
            _workers.Add(WorkerProcess.Start(rawArgs, context.Target, options, share, w * options.PerProcess));
        }
        var users = new List<string>();
        var p99 = 0.0;
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        await using (Progress.Start(context, "connect", () => $"{count} worker processes connecting {options.Connections:N0}"))
        {
            foreach (var worker in _workers)
            {
                var ready = JsonSerializer.Deserialize<WorkerReady>(await worker.ReadAsync(Ready, context.CancellationToken), Json)!;
                users.AddRange(ready.Users);
                p99 = Math.Max(p99, ready.ConnectP99Ms);
                sums["connect errors"] = sums.GetValueOrDefault("connect errors") + ready.ConnectErrors;
            }
        }
        _connected = users.Count;
        result.Add("connections", users.Count);
        result.Add("connect errors", sums.GetValueOrDefault("connect errors"));
        result.Add("connect rate (/s)", users.Count / Stopwatch.GetElapsedTime(start).TotalSeconds);
        result.Add("connect p99 (ms)", p99);
        result.Add("worker processes", count);
        return [.. users];
    }

    public override int Connected => Volatile.Read(ref _connected);

    public override Task StartReconnectingAsync() => Task.WhenAll(_workers.Select(w => w.SendAsync("STORM")));

    public override Task ResetCountersAsync() => Task.WhenAll(_workers.Select(w => w.SendAsync("RESET")));

    public override async Task<ReceiverStatus> StatusAsync()
    {
        await _lock.WaitAsync();
        try
        {
            var back = 0;
            var connected = 0;
            long delivered = 0;
            long warmup = 0;
            var cpu = TimeSpan.Zero;
            foreach (var worker in _workers)
            {
                await worker.SendAsync("STATUS");
                var parts = (await worker.ReadAsync(Status, context.CancellationToken)).Split(' ');
                back += int.Parse(parts[0], CultureInfo.InvariantCulture);
                delivered += long.Parse(parts[1], CultureInfo.InvariantCulture);
                cpu += TimeSpan.FromMilliseconds(double.Parse(parts[2], CultureInfo.InvariantCulture));
                warmup += long.Parse(parts[3], CultureInfo.InvariantCulture);
                connected += int.Parse(parts[4], CultureInfo.InvariantCulture);
            }
            _workersCpu = cpu;
            Volatile.Write(ref _connected, connected);
            return new ReceiverStatus(back, delivered, warmup, connected);
        }
        finally
        {
            _lock.Release();
        }
    }

    public override async Task<(long[] BackAt, int Attempts)> FinishAsync(DeliveryLedger ledger)
    {
        var back = new List<long>();
        var attempts = 0;
        foreach (var worker in _workers)
        {
            await worker.SendAsync("END");
            var done = JsonSerializer.Deserialize<WorkerResult>(await worker.ReadAsync(Result, context.CancellationToken), Json)!;
            back.AddRange(done.BackAt);
            attempts += done.Attempts;
            ledger.Merge(done.DeliveriesPerSeq, done.Delivered, done.Others, done.LastDelivery);
            ledger.EndToEnd.Merge(done.LatencyCounts, done.LatencyMaxMicros);
        }
        return ([.. back], attempts);
    }

    /// <summary>The workers' CPU as of the last status (the parent only sends).</summary>
    public override TimeSpan ToolCpu() => _workersCpu + Process.GetCurrentProcess().TotalProcessorTime;

    public override ValueTask DisposeAsync()
    {
        foreach (var worker in _workers)
        {
            worker.Dispose();
        }
        _lock.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>A worker: connects its share, then answers the parent's lines until END.</summary>
    public static async Task<ScenarioResult> RunWorkerAsync(ScenarioContext context)
    {
        var result = context.NewResult(context.Options.Scenario);
        var ledger = new DeliveryLedger(StormScenario.LedgerCapacity(context.Options));
        await using var pool = await Receivers.ConnectAsync(context, ledger, result);
        var clients = pool.Clients.Where(c => c.IsConnected).ToArray();
        var back = new long[clients.Length];
        var reconnects = Array.Empty<Task>();
        Console.Out.WriteLine(Ready + JsonSerializer.Serialize(new WorkerReady(
            [.. clients.Select(c => pool.UserId(c.Index))], pool.ConnectErrors, pool.ConnectTimes.PercentileMs(99)), Json));
        Console.Out.Flush();
        while (await Console.In.ReadLineAsync(context.CancellationToken) is { } line)
        {
            switch (line)
            {
                case "STORM":
                    reconnects = clients.Select((client, i) => StormScenario.ReconnectAsync(pool, client, i, back, context.CancellationToken)).ToArray();
                    break;
                case "STATUS":
                    var cpu = Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture);
                    Console.Out.WriteLine($"{Status}{back.Count(b => Volatile.Read(ref b) != 0)} {ledger.Delivered} {cpu} {ledger.WarmupDelivered} {pool.Connected}");
                    Console.Out.Flush();
                    break;
                case "RESET":
                    ledger.ResetCounters();
                    break;
                case "END":
                    await Task.WhenAny(Task.WhenAll(reconnects), Task.Delay(TimeSpan.FromSeconds(1)));
                    var (counts, max) = ledger.EndToEnd.Snapshot();
                    Console.Out.WriteLine(Result + JsonSerializer.Serialize(new WorkerResult(
                        back, pool.ConnectAttempts, ledger.DeliveriesPerSeq(), ledger.Delivered, ledger.OtherMessages, counts, max, ledger.LastDeliveryTimestamp), Json));
                    Console.Out.Flush();
                    return result;
            }
        }
        return result;
    }

    private sealed record WorkerReady(string[] Users, long ConnectErrors, double ConnectP99Ms);

    private sealed record WorkerResult(long[] BackAt, int Attempts, int[] DeliveriesPerSeq, long Delivered, long Others, long[] LatencyCounts, long LatencyMaxMicros, long LastDelivery);
}
