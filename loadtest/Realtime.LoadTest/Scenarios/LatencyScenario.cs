using System.Diagnostics;
using Realtime.LoadTest.Measurement;
using Realtime.LoadTest.Sending;

namespace Realtime.LoadTest.Scenarios;

/// <summary>
/// <c>latency</c>: N users connected; open-loop sends to random connected users at rate R for D
/// seconds; end to end from the send's timestamp (taken as the request is built) to its arrival.
/// </summary>
internal static class LatencyScenario
{
    public static async Task<ScenarioResult> RunAsync(ScenarioContext context, string[] rawArgs)
    {
        var options = context.Options;
        if (options.Worker)
        {
            return await ReceiverWorkers.RunWorkerAsync(context);
        }
        var result = context.NewResult("latency");
        var ledger = new DeliveryLedger((int)(options.Rate * options.DurationSeconds * 1.2) + 1_000);
        // Past --per-process connections the receivers live in worker processes (the fd cap), which report at the end.
        await using ReceiverSet receivers = options.Connections > options.PerProcess
            ? new ReceiverWorkers(context, rawArgs)
            : new InProcessReceivers(context, ledger);
        var users = await receivers.ConnectAsync(result);
        using var sender = new ApiSender(context.Target.SendUrl, context.Tokens);
        await Warmup.RunAsync(context, receivers, 1, s => s.SendAsync(users[Random.Shared.Next(users.Length)], DeliveryLedger.WarmupSeq, context.CancellationToken));
        var start = Stopwatch.GetTimestamp();
        var cpuBefore = context.ServerCpu();
        var clusterCpuBefore = context.ClusterCpu();
        (long Issued, long Skipped) loop;
        await using (Progress.Start(context, "latency", () =>
            $"sent {sender.Ok:N0}, failed {sender.Failed:N0}, delivered {ledger.Delivered:N0}, p99 {ledger.EndToEnd.PercentileMs(99):0.0} ms"))
        {
            loop = await OpenLoop.RunAsync(options.Rate, options.Duration, options.MaxInFlight, async _ =>
            {
                var seq = ledger.NextSeq();
                if (seq < 0)
                {
                    return;
                }
                if (await sender.SendAsync(users[Random.Shared.Next(users.Length)], seq, context.CancellationToken))
                {
                    ledger.Acknowledge(seq, 1);
                }
            }, context.CancellationToken);
            await StormScenario.DrainAsync(receivers, ledger, TimeSpan.FromSeconds(options.DrainSeconds), context.CancellationToken);
        }
        var connectedAtEnd = (await receivers.StatusAsync()).Connected;
        var cpuAfter = context.ServerCpu();
        var clusterCpuAfter = context.ClusterCpu();
        var measured = Stopwatch.GetElapsedTime(start);
        await receivers.FinishAsync(ledger);
        var window = Stopwatch.GetElapsedTime(start, Math.Max(ledger.LastDeliveryTimestamp, start + 1));
        result.Add("sends offered (/s)", options.Rate);
        result.Add("sends skipped (generator saturated)", loop.Skipped);
        sender.AddTo(result, "sends");
        Receivers.AddDeliveries(result, ledger);
        result.Add("still connected at the end", connectedAtEnd); // a user whose connection dropped gets nothing more (no reconnects here)
        result.Add("deliveries (/s)", ledger.Delivered / Math.Max(0.001, window.TotalSeconds));
        if (cpuBefore is { } before && cpuAfter is { } after && sender.Ok > 0)
        {
            // Per send over the measured part (it holds up on a machine shared with other work, where latencies
            // do not; PostgreSQL's own CPU is not in it); and everything since the process started (start-up,
            // connects, warm-up, JIT included), what a freshly (re)started node pays.
            result.Add("server CPU per send, measured part (µs)", (after - before).TotalMicroseconds / sender.Ok);
            result.Add("server CPU from its start to the end (s)", after.TotalSeconds);
        }
        if (clusterCpuBefore is { } clusterBefore && clusterCpuAfter is { } clusterAfter)
        {
            // Every node the tool started (the first node's sends, the others' deliveries, everyone's idle connections) and the first alone.
            result.Add("all nodes' CPU, measured part (% of a core)", 100 * (clusterAfter - clusterBefore).TotalSeconds / measured.TotalSeconds);
            result.Add("first node's CPU, measured part (% of a core)", 100 * (cpuAfter!.Value - cpuBefore!.Value).TotalSeconds / measured.TotalSeconds);
        }
        return result;
    }
}
