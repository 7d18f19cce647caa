using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Realtime.LoadTest.Clients;
using Realtime.LoadTest.Measurement;

namespace Realtime.LoadTest.Scenarios;

/// <summary>
/// <c>connections</c>: ramp to N idle connections, hold them for D seconds; connect rate and time,
/// errors, and memory: the server's RSS growth per connection, and this tool's own per client.
/// Past <c>--per-process</c> connections, worker processes (this tool with <c>--worker</c>) each
/// open a share; they report on stdout when connected and close when told on stdin.
/// </summary>
internal static class ConnectionsScenario
{
    private const string ReadyLine = "READY ";
    private const string DoneLine = "DONE ";

    public static async Task<ScenarioResult> RunAsync(ScenarioContext context, string[] rawArgs)
    {
        var options = context.Options;
        if (!options.Worker && options.Connections > options.PerProcess)
        {
            return await RunWorkersAsync(context, rawArgs);
        }
        var result = context.NewResult("connections");
        var ledger = new DeliveryLedger(1);
        if (options.Worker)
        {
            await using var workerPool = await Receivers.ConnectAsync(context, ledger, result);
            // Tell the parent, then hold until it says stop (closes stdin).
            Console.Out.WriteLine(ReadyLine + JsonSerializer.Serialize(result.Metrics.ToDictionary(m => m.Key, m => m.Value)));
            Console.Out.Flush();
            await Console.In.ReadLineAsync(context.CancellationToken);
            Console.Out.WriteLine(DoneLine + workerPool.Connected.ToString(CultureInfo.InvariantCulture));
            Console.Out.Flush();
            return result;
        }
        var before = await MemoryPoint.ReadAsync(context, 0);
        GC.Collect();
        var toolHeapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var toolRssBefore = Environment.WorkingSet;
        // A fifth first, measured, then the rest: the slope between the two excludes fixed costs.
        var first = FirstStage(options.Connections);
        var parts = new List<ScenarioResult>();
        var pools = new List<ClientPool>();
        MemoryPoint? atFirst = null;
        TimeSpan? cpuAtFirst = null;
        var cpuBefore = context.ServerCpu();
        try
        {
            foreach (var (offset, count) in first > 0 ? [(0, first), (first, options.Connections - first)] : new[] { (0, options.Connections) })
            {
                var stage = new ScenarioContext(options with { Connections = count, UserOffset = options.UserOffset + offset }, context.Target, context.Launcher, context.CancellationToken);
                var part = context.NewResult("connections");
                pools.Add(await Receivers.ConnectAsync(stage, ledger, part));
                parts.Add(part);
                if (pools.Count == 1 && first > 0)
                {
                    atFirst = await MemoryPoint.ReadAsync(context, pools[0].Connected);
                    cpuAtFirst = context.ServerCpu();
                }
            }
            AddConnectFigures(result, parts);
            AddServerCpu(result, cpuBefore, cpuAtFirst, context.ServerCpu(), pools.Sum(p => p.Connected), first);
            await using (Progress.Start(context, "hold", () => $"connected {pools.Sum(p => p.Connected):N0}, server RSS {Mb(context.ServerRss())}"))
            {
                await IdleCpu.HoldAsync(context, pools.Sum(p => p.Connected), () => Process.GetCurrentProcess().TotalProcessorTime, result);
            }
            var connected = pools.Sum(p => p.Connected);
            var after = await MemoryPoint.ReadAsync(context, connected);
            GC.Collect();
            var toolHeapAfter = GC.GetTotalMemory(forceFullCollection: true);
            result.Add("still connected after the hold", connected);
            AddServerMemory(result, before, atFirst, after);
            result.Add("tool managed heap per client (KB)", (toolHeapAfter - toolHeapBefore) / 1024.0 / Math.Max(1, connected));
            result.Add("tool RSS per client (KB)", (Environment.WorkingSet - toolRssBefore) / 1024.0 / Math.Max(1, connected));
            result.Note($"client: {options.Client}, transport: {options.Transport}");
            return result;
        }
        finally
        {
            foreach (var pool in pools)
            {
                await pool.DisposeAsync();
            }
        }
    }

    /// <summary>Connections opened (and measured) before the rest: a fifth, when there are enough to tell.</summary>
    private static int FirstStage(int connections) => connections >= 10 ? connections / 5 : 0;

    /// <summary>The connect figures of stages run one after the other, as one ramp.</summary>
    private static void AddConnectFigures(ScenarioResult result, List<ScenarioResult> parts)
    {
        var connections = parts.Sum(p => p["connections"]);
        var seconds = parts.Sum(p => p["connections"] / Math.Max(0.001, p["connect rate (/s)"]));
        result.Add("connections", connections);
        result.Add("connect errors", parts.Sum(p => p["connect errors"]));
        result.Add("connect rate (/s)", connections / Math.Max(0.001, seconds));
        result.Add("connect p99 (ms)", parts.Max(p => p["connect p99 (ms)"]));
        foreach (var note in parts.SelectMany(p => p.Notes))
        {
            result.Note(note);
        }
    }

    /// <summary>
    /// The server's CPU per connection while they connect (handshake, authentication, the connection's
    /// records): over all N (start-up's JIT of the connect path included), and from N/5 to N.
    /// </summary>
    private static void AddServerCpu(ScenarioResult result, TimeSpan? before, TimeSpan? atFirst, TimeSpan? connected, int connections, int first)
    {
        if (before is not { } cpuBefore || connected is not { } cpuConnected || connections == 0)
        {
            return;
        }
        result.Add("server CPU per connection, 0 to N (ms)", (cpuConnected - cpuBefore).TotalMilliseconds / connections);
        if (atFirst is { } cpuFirst && connections > first)
        {
            result.Add("server CPU per added connection, N/5 to N (ms)", (cpuConnected - cpuFirst).TotalMilliseconds / (connections - first));
        }
    }

    /// <summary>
    /// Per connection, two ways: (after − before) / N, the figure of earlier rounds, which counts
    /// fixed costs (JIT of the connect path, pools and caches the first connections warm) as per
    /// connection; and the marginal cost, (after − at N/5) / (N − N/5), which does not.
    /// </summary>
    private static void AddServerMemory(ScenarioResult result, MemoryPoint before, MemoryPoint? atFirst, MemoryPoint after)
    {
        var added = Math.Max(1, after.Connections - before.Connections);
        if (before.Rss is { } rssBefore && after.Rss is { } rssAfter)
        {
            result.Add("server RSS before (MB)", rssBefore / 1048576.0);
            result.Add("server RSS after (MB)", rssAfter / 1048576.0);
            result.Add("server RSS per connection, (after-before)/N (KB)", (rssAfter - rssBefore) / 1024.0 / added);
            if (atFirst is { Rss: { } rssFirst } && after.Connections > atFirst.Connections)
            {
                result.Add("server RSS per added connection, N/5 to N (KB)", (rssAfter - rssFirst) / 1024.0 / (after.Connections - atFirst.Connections));
            }
        }
        else
        {
            result.Note("server RSS unknown: give the target a pid=, a --command, or run the tool where it can read /proc of the server");
        }
        if (before.Heap is { } heapBefore && after.Heap is { } heapAfter)
        {
            result.Add("server managed heap before (MB)", heapBefore.HeapBytes / 1048576.0);
            result.Add("server managed heap after (MB)", heapAfter.HeapBytes / 1048576.0);
            if (heapBefore.HeapBytes > 0)
            {
                result.Add("server managed heap per connection, (after-before)/N (KB)", (heapAfter.HeapBytes - heapBefore.HeapBytes) / 1024.0 / added);
            }
            else
            {
                result.Note("server managed heap before: 0, no collection yet (so no (after-before)/N figure for the heap)");
            }
            if (atFirst is { Heap: { } heapFirst } && after.Connections > atFirst.Connections)
            {
                result.Add("server managed heap per added connection, N/5 to N (KB)", (heapAfter.HeapBytes - heapFirst.HeapBytes) / 1024.0 / (after.Connections - atFirst.Connections));
            }
            if (heapAfter.CommittedBytes is { } committed)
            {
                result.Add("server GC committed after (MB)", committed / 1048576.0);
            }
            result.Note(before.Collected && after.Collected
                ? "server managed heap: live objects, after a full GC the tool asks for through the diagnostics port (then /metrics: dotnet.gc.last_collection.heap.size); RSS is read before that GC and also holds GC headroom and native memory"
                : "server managed heap: after the server's last GC, not forced (the diagnostics port was out of reach), so it includes what that collection left; RSS also holds GC headroom and native memory");
        }
        else
        {
            result.Note("server managed heap: not measured (the target has no /metrics with the .NET runtime's GC figures)");
        }
    }

    private static async Task<ScenarioResult> RunWorkersAsync(ScenarioContext context, string[] rawArgs)
    {
        var options = context.Options;
        var result = context.NewResult("connections");
        // A first worker opens a fifth and is measured, then the others open the rest.
        var first = FirstStage(options.Connections);
        var shares = new List<int>();
        if (first > 0)
        {
            shares.Add(first);
        }
        for (var left = options.Connections - first; left > 0; left -= options.PerProcess)
        {
            shares.Add(Math.Min(options.PerProcess, left));
        }
        var before = await MemoryPoint.ReadAsync(context, 0);
        MemoryPoint? atFirst = null;
        var processes = new List<Process>();
        var connecting = TimeSpan.Zero;
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        var p99 = new StrongBox<double>(0);
        try
        {
            var offset = 0;
            foreach (var stage in first > 0 ? [shares[..1], shares[1..]] : new[] { shares })
            {
                var start = Stopwatch.GetTimestamp();
                var started = new List<Process>();
                foreach (var share in stage)
                {
                    started.Add(StartWorker(context, rawArgs, share, offset));
                    offset += share;
                }
                processes.AddRange(started);
                foreach (var process in started)
                {
                    await ReadReadyAsync(process, sums, p99, context.CancellationToken);
                }
                connecting += Stopwatch.GetElapsedTime(start);
                if (first > 0 && atFirst is null)
                {
                    atFirst = await MemoryPoint.ReadAsync(context, (int)sums.GetValueOrDefault("connections"));
                }
            }
            foreach (var (key, value) in sums)
            {
                result.Add(key, value);
            }
            result.Add("connect rate (/s)", sums.GetValueOrDefault("connections") / connecting.TotalSeconds);
            result.Add("connect p99 (ms)", p99.Value);
            result.Add("worker processes", processes.Count);
            await using (Progress.Start(context, "hold", () => $"server RSS {Mb(context.ServerRss())}"))
            {
                await IdleCpu.HoldAsync(context, (int)sums.GetValueOrDefault("connections"),
                    () => processes.Aggregate(Process.GetCurrentProcess().TotalProcessorTime, (sum, p) => sum + (ServerProbe.CpuTime(p.Id) ?? TimeSpan.Zero)), result);
            }
            var after = await MemoryPoint.ReadAsync(context, (int)sums.GetValueOrDefault("connections"));
            var still = 0;
            foreach (var process in processes)
            {
                process.StandardInput.Close();
                string? line;
                while ((line = await process.StandardOutput.ReadLineAsync(context.CancellationToken)) is not null)
                {
                    if (line.StartsWith(DoneLine, StringComparison.Ordinal))
                    {
                        still += int.Parse(line[DoneLine.Length..], CultureInfo.InvariantCulture);
                    }
                }
            }
            result.Add("still connected after the hold", still);
            AddServerMemory(result, before, atFirst, after);
            return result;
        }
        finally
        {
            foreach (var process in processes)
            {
                if (!process.HasExited)
                {
                    process.Kill();
                }
                process.Dispose();
            }
        }
    }

    /// <summary>`dotnet Realtime.LoadTest.dll --worker`, whatever started this process (its apphost, dotnet, a test host).</summary>
    private static Process StartWorker(ScenarioContext context, string[] rawArgs, int share, int offset) =>
        Process.Start(WorkerProcess.StartInfo(rawArgs, context.Target, context.Options.RunId, share, context.Options.UserOffset + offset))!;

    /// <summary>Waits for a worker's READY line and adds its figures (the worst connect p99, sums of the rest but the rate).</summary>
    private static async Task ReadReadyAsync(Process process, Dictionary<string, double> sums, StrongBox<double> p99, CancellationToken cancellationToken)
    {
        string? line;
        while ((line = await process.StandardOutput.ReadLineAsync(cancellationToken)) is not null && !line.StartsWith(ReadyLine, StringComparison.Ordinal))
        {
        }
        if (line is null)
        {
            throw new InvalidOperationException("a worker exited before it was connected");
        }
        foreach (var (key, value) in JsonSerializer.Deserialize<Dictionary<string, double>>(line[ReadyLine.Length..])!)
        {
            if (key == "connect p99 (ms)")
            {
                p99.Value = Math.Max(p99.Value, value);
            }
            else if (key != "connect rate (/s)")
            {
                sums[key] = sums.GetValueOrDefault(key) + value;
            }
        }
    }

    private static string Mb(long? bytes) => bytes is { } b ? (b / 1048576.0).ToString("N0", CultureInfo.InvariantCulture) + " MB" : "?";
}

/// <summary>The server's memory with this many connections open: RSS from /proc, the managed heap from its /metrics.</summary>
internal sealed record MemoryPoint(int Connections, long? Rss, ManagedHeap? Heap, bool Collected)
{
    /// <summary>RSS as it is, then the heap after a full GC the tool asks for (when it can reach the process).</summary>
    public static async Task<MemoryPoint> ReadAsync(ScenarioContext context, int connections)
    {
        var rss = context.ServerRss();
        var collected = await ServerGc.CollectAsync(context.ServerPid, context.CancellationToken);
        return new(connections, rss, await ServerMetrics.ReadAsync(context.Target.Url, context.CancellationToken), collected);
    }
}
