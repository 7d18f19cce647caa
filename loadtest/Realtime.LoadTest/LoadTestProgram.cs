using Realtime.LoadTest.Measurement;
using Realtime.LoadTest.Scenarios;
using Realtime.LoadTest.Servers;

namespace Realtime.LoadTest;

/// <summary>The command line: parse, run the scenario against each target back to back, print the table.</summary>
internal static class LoadTestProgram
{
    public static async Task<int> Main(string[] args)
    {
        LoadTestOptions options;
        try
        {
            options = LoadTestOptions.Parse(args);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or UriFormatException)
        {
            Console.Error.WriteLine($"Realtime.LoadTest: {ex.Message} (see --help)");
            return 2;
        }
        if (options.Scenario == "help")
        {
            Console.WriteLine(LoadTestOptions.Help);
            return 0;
        }
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        var machine = ServerProbe.Machine();
        if (!options.Worker)
        {
            Console.Error.WriteLine($"{options.Scenario}: {machine}; run {options.RunId}");
        }
        var results = new List<ScenarioResult>();
        foreach (var target in options.Targets)
        {
            try
            {
                results.Add(await RunTargetAsync(options, target, args, cancel.Token));
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancel.IsCancellationRequested)
            {
                if (ex is ArgumentException)
                {
                    Console.Error.WriteLine($"Realtime.LoadTest: {ex.Message}");
                    return 2;
                }
                var failed = new ScenarioResult(options.Scenario, target.Name);
                failed.Note($"FAILED: {ex.GetType().Name}: {ex.Message}");
                results.Add(failed);
            }
        }
        if (options.Worker)
        {
            foreach (var note in results.SelectMany(r => r.Notes).Where(n => n.StartsWith("FAILED", StringComparison.Ordinal)))
            {
                Console.Error.WriteLine($"worker {options.UserOffset}: {note}");
            }
            return 0;
        }
        Console.WriteLine();
        Console.WriteLine($"{options.Scenario} ({machine})");
        Console.WriteLine(ResultsReport.Table(options.Scenario, results));
        if (options.JsonPath is { } path)
        {
            await File.WriteAllTextAsync(path, ResultsReport.Json(options, machine, args, results));
            Console.WriteLine($"JSON: {path}");
        }
        return results.Any(r => r.Notes.Any(n => n.StartsWith("FAILED", StringComparison.Ordinal))) ? 1 : 0;
    }

    public static async Task<ScenarioResult> RunTargetAsync(LoadTestOptions options, Target target, string[] args, CancellationToken cancellationToken)
    {
        await using var others = target.Command is null || options.Worker ? null : await StartOtherNodesAsync(options, target, cancellationToken);
        await using var launcher = target.Command is null ? null : new ServerLauncher(target);
        if (launcher is not null)
        {
            if (!options.Quiet)
            {
                Console.Error.WriteLine($"{target.Name}: starting `{target.Command}` on {target.Url} (log: {launcher.LogPath})");
            }
            await launcher.StartAsync(cancellationToken);
            Console.Error.WriteLine($"{target.Name}: rate limits {launcher.RateLimits}");
        }
        else if (!options.Worker)
        {
            await ServerLauncher.WaitReadyAsync(target.Url, null, cancellationToken);
            Console.Error.WriteLine($"{target.Name}: rate limits unknown (a server the tool did not start): run it with {ServerLauncher.RateLimitsOff}; the tool warns when it sees 429s");
        }
        if (!options.Quiet)
        {
            Console.Error.WriteLine($"{target.Name}: {options.Scenario} against {target.Url}" + (target.SendUrl != target.Url ? $", sends to {target.SendUrl}" : ""));
        }
        var context = new ScenarioContext(options, target, launcher, cancellationToken) { OtherNodes = others };
        return await RunScenarioAsync(context, args);
    }

    private static async Task<OtherNodes?> StartOtherNodesAsync(LoadTestOptions options, Target target, CancellationToken cancellationToken)
    {
        var urls = OtherNodes.UrlsOf(target);
        if (urls.Count == 0)
        {
            return null;
        }
        if (!options.Quiet)
        {
            Console.Error.WriteLine($"{target.Name}: starting `{target.Command}` on {string.Join(", ", urls)} too (logs: {Path.GetTempPath()}realtime-loadtest-{target.Name}-PORT.log)");
        }
        return await OtherNodes.StartAsync(target, cancellationToken);
    }

    public static Task<ScenarioResult> RunScenarioAsync(ScenarioContext context, string[] args) => context.Options.Scenario switch
    {
        "connections" => ConnectionsScenario.RunAsync(context, args),
        "latency" => LatencyScenario.RunAsync(context, args),
        "fanout" => FanoutScenario.RunAsync(context, args),
        "sends" => SendsScenario.RunAsync(context),
        "storm" => StormScenario.RunAsync(context, args),
        "storage" => StorageScenario.RunAsync(context),
        "push" => PushScenario.RunAsync(context),
        var other => throw new ArgumentException($"unknown scenario '{other}' (connections, latency, fanout, sends, storm, storage, push)"),
    };
}
