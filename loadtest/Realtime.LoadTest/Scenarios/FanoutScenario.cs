using System.Diagnostics;
using Realtime.LoadTest.Measurement;
using Realtime.LoadTest.Sending;

namespace Realtime.LoadTest.Scenarios;

/// <summary>
/// <c>fanout</c>: N connections; broadcasts at rate R for D seconds. Deliveries per second over the
/// time from the first broadcast to the last delivery (a server that falls behind stretches it).
/// Past <c>--per-process</c> connections the clients live in worker processes (<see cref="ReceiverWorkers"/>);
/// this process broadcasts and sums what they saw.
/// </summary>
internal static class FanoutScenario
{
    private const int MaxWarmupBroadcasts = 10; // enough to JIT the path; more only queues ahead of the measured ones

    public static async Task<ScenarioResult> RunAsync(ScenarioContext context, string[] rawArgs)
    {
        var options = context.Options;
        if (options.Worker)
        {
            return await ReceiverWorkers.RunWorkerAsync(context);
        }
        var result = context.NewResult("fanout");
        var ledger = new DeliveryLedger((int)(options.Rate * options.DurationSeconds * 1.2) + 100);
        await using ReceiverSet receivers = options.Connections > options.PerProcess
            ? new ReceiverWorkers(context, rawArgs)
            : new InProcessReceivers(context, ledger);
        var users = await receivers.ConnectAsync(result);
        await Warmup.RunAsync(context, receivers, users.Length, s => s.BroadcastAsync(DeliveryLedger.WarmupSeq, context.CancellationToken), MaxWarmupBroadcasts);
        using var sender = new ApiSender(context.Target.SendUrl, context.Tokens);
        var start = Stopwatch.GetTimestamp();
        var cpuBefore = context.ServerCpu();
        var lastCount = 0L;
        var lastAt = start;
        await using (Progress.Start(context, "fanout", async () =>
        {
            var delivered = (await receivers.StatusAsync()).Delivered;
            var now = Stopwatch.GetTimestamp();
            var rate = (delivered - lastCount) / Math.Max(0.001, Stopwatch.GetElapsedTime(lastAt, now).TotalSeconds);
            (lastCount, lastAt) = (delivered, now);
            // The latencies of clients in worker processes arrive at the end.
            var p99 = ledger.Delivered > 0 ? $", p99 {ledger.EndToEnd.PercentileMs(99):0.0} ms" : "";
            return $"broadcasts {sender.Ok:N0}, delivered {delivered:N0} ({rate:N0}/s){p99}";
        }))
        {
            await OpenLoop.RunAsync(options.Rate, options.Duration, options.MaxInFlight, async _ =>
            {
                var seq = ledger.NextSeq();
                if (seq < 0)
                {
                    return;
                }
                var connected = receivers.Connected;
                ledger.Expect(seq, connected);
                if (await sender.BroadcastAsync(seq, context.CancellationToken))
                {
                    ledger.Acknowledge(seq, connected);
                }
            }, context.CancellationToken);
            await StormScenario.DrainAsync(receivers, ledger, TimeSpan.FromSeconds(options.DrainSeconds), context.CancellationToken);
        }
        var cpuAfter = context.ServerCpu();
        var stillConnected = (await receivers.StatusAsync()).Connected;
        await receivers.FinishAsync(ledger);
        var window = Stopwatch.GetElapsedTime(start, Math.Max(ledger.LastDeliveryTimestamp, start + 1));
        result.Add("deliveries offered (/s)", options.Rate * result["connections"]);
        result.Add("deliveries (/s)", ledger.Delivered / Math.Max(0.001, window.TotalSeconds));
        if (cpuBefore is { } before && cpuAfter is { } after && ledger.Delivered > 0)
        {
            // CPU per delivery holds up on a machine shared with other work, where rates do not.
            result.Add("server CPU per 1,000 deliveries (ms)", (after - before).TotalMilliseconds * 1000 / ledger.Delivered);
        }
        result.Add("still connected", stillConnected);
        sender.AddTo(result, "broadcasts");
        Receivers.AddDeliveries(result, ledger);
        return result;
    }
}
