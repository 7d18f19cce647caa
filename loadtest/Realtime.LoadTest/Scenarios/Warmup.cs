using System.Diagnostics;
using Realtime.LoadTest.Sending;

namespace Realtime.LoadTest.Scenarios;

/// <summary>
/// Runs the scenario's load for <c>--warmup</c> seconds without measuring it (a freshly started
/// server JITs and fills its pools first; both targets get the same), then forgets what it saw.
/// </summary>
internal static class Warmup
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(500);

    /// <param name="receiversPerSend">how many deliveries each warm-up send makes (to wait for them all).</param>
    /// <param name="maxSends">at most this many warm-up sends (a broadcast to thousands is already plenty of work).</param>
    public static async Task RunAsync(ScenarioContext context, ReceiverSet receivers, int receiversPerSend, Func<ApiSender, Task> send, int maxSends = int.MaxValue)
    {
        var options = context.Options;
        if (options.WarmupSeconds <= 0)
        {
            return;
        }
        using var sender = new ApiSender(context.Target.SendUrl, context.Tokens);
        var delivered = 0L;
        await using (Progress.Start(context, "warm-up", () => $"sent {sender.Ok:N0}, delivered {Volatile.Read(ref delivered):N0}"))
        {
            var rate = Math.Min(options.Rate, maxSends / options.WarmupSeconds);
            await OpenLoop.RunAsync(rate, TimeSpan.FromSeconds(options.WarmupSeconds), options.MaxInFlight, _ => send(sender), context.CancellationToken);
            // Let the warm-up's deliveries finish (bounded), so they do not queue ahead of the measured ones.
            var expected = sender.Ok * receiversPerSend;
            var deadline = Stopwatch.GetTimestamp() + (long)(options.DrainSeconds * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < deadline)
            {
                Volatile.Write(ref delivered, (await receivers.StatusAsync()).WarmupDelivered);
                if (delivered >= expected)
                {
                    break;
                }
                await Task.Delay(50, context.CancellationToken);
            }
            await Task.Delay(Quiet, context.CancellationToken);
        }
        await receivers.ResetCountersAsync();
    }
}
