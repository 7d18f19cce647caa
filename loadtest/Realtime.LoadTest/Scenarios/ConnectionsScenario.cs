using System.Diagnostics;
using System.Globalization;
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
        var rssBefore = context.ServerRss();
        GC.Collect();
        var toolHeapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var toolRssBefore = Environment.WorkingSet;
        var ledger = new DeliveryLedger(1);
        await using var pool = await Receivers.ConnectAsync(context, ledger, result);
        if (options.Worker)
        {
            // Tell the parent, then hold until it says stop (closes stdin).
            Console.Out.WriteLine(ReadyLine + JsonSerializer.Serialize(result.Metrics.ToDictionary(m => m.Key, m => m.Value)));
            Console.Out.Flush();
            await Console.In.ReadLineAsync(context.CancellationToken);
            Console.Out.WriteLine(DoneLine + pool.Connected.ToString(CultureInfo.InvariantCulture));
            Console.Out.Flush();
            return result;
        }
        await using (Progress.Start(context, "hold", () => $"connected {pool.Connected:N0}, server RSS {Mb(context.ServerRss())}"))
        {
            await Task.Delay(options.Duration, context.CancellationToken);
        }
        var rssAfter = context.ServerRss();
        GC.Collect();
        var toolHeapAfter = GC.GetTotalMemory(forceFullCollection: true);
        var connected = pool.Connected;
        result.Add("still connected after the hold", connected);
        AddServerMemory(result, rssBefore, rssAfter, connected);
        result.Add("tool managed heap per client (KB)", (toolHeapAfter - toolHeapBefore) / 1024.0 / Math.Max(1, connected));
        result.Add("tool RSS per client (KB)", (Environment.WorkingSet - toolRssBefore) / 1024.0 / Math.Max(1, connected));
        result.Note($"client: {options.Client}, transport: {options.Transport}");
        return result;
    }

    private static void AddServerMemory(ScenarioResult result, long? before, long? after, int connected)
    {
        if (before is null || after is null)
        {
            result.Note("server RSS unknown: give the target a pid=, a --command, or run the tool where it can read /proc of the server");
            return;
        }
        result.Add("server RSS before (MB)", before.Value / 1048576.0);
        result.Add("server RSS after (MB)", after.Value / 1048576.0);
        result.Add("server RSS per connection (KB)", (after.Value - before.Value) / 1024.0 / Math.Max(1, connected));
        result.Note("server managed heap: not measured (the server exposes no runtime metrics yet); RSS includes GC headroom");
    }

    private static async Task<ScenarioResult> RunWorkersAsync(ScenarioContext context, string[] rawArgs)
    {
        var options = context.Options;
        var result = context.NewResult("connections");
        var workers = (options.Connections + options.PerProcess - 1) / options.PerProcess;
        var rssBefore = context.ServerRss();
        var processes = new List<Process>();
        var start = Stopwatch.GetTimestamp();
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        var p99 = 0.0;
        try
        {
            for (var w = 0; w < workers; w++)
            {
                var share = Math.Min(options.PerProcess, options.Connections - w * options.PerProcess);
                // `dotnet Realtime.LoadTest.dll`, whatever started this process (its apphost, dotnet, a test host).
                var info = new ProcessStartInfo(DotnetHost()) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
                info.ArgumentList.Add(typeof(ConnectionsScenario).Assembly.Location);
                foreach (var arg in WorkerArgs(rawArgs, context.Target))
                {
                    info.ArgumentList.Add(arg);
                }
                foreach (var arg in new[] { "--worker", "--connections", share.ToString(CultureInfo.InvariantCulture), "--user-offset", (w * options.PerProcess).ToString(CultureInfo.InvariantCulture), "--run-id", options.RunId })
                {
                    info.ArgumentList.Add(arg);
                }
                processes.Add(Process.Start(info)!);
            }
            foreach (var process in processes)
            {
                string? line;
                while ((line = await process.StandardOutput.ReadLineAsync(context.CancellationToken)) is not null && !line.StartsWith(ReadyLine, StringComparison.Ordinal))
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
                        p99 = Math.Max(p99, value);
                    }
                    else if (key != "connect rate (/s)")
                    {
                        sums[key] = sums.GetValueOrDefault(key) + value;
                    }
                }
            }
            var elapsed = Stopwatch.GetElapsedTime(start);
            foreach (var (key, value) in sums)
            {
                result.Add(key, value);
            }
            result.Add("connect rate (/s)", sums.GetValueOrDefault("connections") / elapsed.TotalSeconds);
            result.Add("connect p99 (ms)", p99);
            result.Add("worker processes", workers);
            await using (Progress.Start(context, "hold", () => $"server RSS {Mb(context.ServerRss())}"))
            {
                await Task.Delay(options.Duration, context.CancellationToken);
            }
            var rssAfter = context.ServerRss();
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
            AddServerMemory(result, rssBefore, rssAfter, (int)sums.GetValueOrDefault("connections"));
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

    /// <summary>The parent's arguments for a worker: this target only (no --command: the parent runs it), no -n, no --json.</summary>
    private static IEnumerable<string> WorkerArgs(string[] rawArgs, Target target)
    {
        yield return rawArgs[0];
        for (var i = 1; i < rawArgs.Length; i++)
        {
            if (rawArgs[i] is "-n" or "--connections" or "--json" or "--target" or "-t" or "--command" or "--run-id")
            {
                i++;
                continue;
            }
            yield return rawArgs[i];
        }
        yield return "--target";
        yield return target.ClientSpec(); // its name and every node of it (node=)
        yield return "--quiet";
    }

    private static string DotnetHost() =>
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";

    private static string Mb(long? bytes) => bytes is { } b ? (b / 1048576.0).ToString("N0", CultureInfo.InvariantCulture) + " MB" : "?";
}
