using System.Diagnostics;
using Realtime.LoadTest.Measurement;
using Realtime.LoadTest.Sending;

namespace Realtime.LoadTest.Scenarios;

/// <summary>
/// <c>fanout</c>: N connections; broadcasts at rate R for D seconds. Deliveries per second over the
/// time from the first broadcast to the last delivery (a server that falls behind stretches it).
/// </summary>
internal static class FanoutScenario
{
    private const int MaxWarmupBroadcasts = 10; // enough to JIT the path; more only queues ahead of the measured ones

    public static async Task<ScenarioResult> RunAsync(ScenarioContext context)
    {
        var options = context.Options;
        var result = context.NewResult("fanout");
        var ledger = new DeliveryLedger((int)(options.Rate * options.DurationSeconds * 1.2) + 100);
        await using var pool = await Receivers.ConnectAsync(context, ledger, result);
        await Warmup.RunAsync(context, ledger, pool.Connected, s => s.BroadcastAsync(DeliveryLedger.WarmupSeq, context.CancellationToken), MaxWarmupBroadcasts);
        using var sender = new ApiSender(context.Target.SendUrl, context.Tokens);
        var start = Stopwatch.GetTimestamp();
        var cpuBefore = context.ServerCpu();
        var deliveredBefore = ledger.Delivered;
        var lastCount = 0L;
        var lastAt = start;
        await using (Progress.Start(context, "fanout", () =>
        {
            var now = Stopwatch.GetTimestamp();
            var delivered = ledger.Delivered;
            var rate = (delivered - lastCount) / Math.Max(0.001, Stopwatch.GetElapsedTime(lastAt, now).TotalSeconds);
            (lastCount, lastAt) = (delivered, now);
            return $"broadcasts {sender.Ok:N0}, delivered {delivered:N0} ({rate:N0}/s), p99 {ledger.EndToEnd.PercentileMs(99):0.0} ms";
        }))
        {
            await OpenLoop.RunAsync(options.Rate, options.Duration, options.MaxInFlight, async _ =>
            {
                var seq = ledger.NextSeq();
                if (seq < 0)
                {
                    return;
                }
                var receivers = pool.Connected;
                ledger.Expect(seq, receivers);
                if (await sender.BroadcastAsync(seq, context.CancellationToken))
                {
                    ledger.Acknowledge(seq, receivers);
                }
            }, context.CancellationToken);
            await ledger.DrainAsync(TimeSpan.FromSeconds(options.DrainSeconds), context.CancellationToken);
        }
        var window = Stopwatch.GetElapsedTime(start, Math.Max(ledger.LastDeliveryTimestamp, start + 1));
        result.Add("deliveries offered (/s)", options.Rate * result["connections"]);
        result.Add("deliveries (/s)", ledger.Delivered / Math.Max(0.001, window.TotalSeconds));
        if (cpuBefore is { } before && context.ServerCpu() is { } after && ledger.Delivered > deliveredBefore)
        {
            // CPU per delivery holds up on a machine shared with other work, where rates do not.
            result.Add("server CPU per 1,000 deliveries (ms)", (after - before).TotalMilliseconds * 1000 / (ledger.Delivered - deliveredBefore));
        }
        result.Add("still connected", pool.Connected);
        sender.AddTo(result, "broadcasts");
        Receivers.AddDeliveries(result, ledger);
        return result;
    }
}
