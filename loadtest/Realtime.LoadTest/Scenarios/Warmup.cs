using Realtime.LoadTest.Measurement;
using Realtime.LoadTest.Sending;

namespace Realtime.LoadTest.Scenarios;

/// <summary>
/// Runs the scenario's load for <c>--warmup</c> seconds without measuring it (a freshly started
/// server JITs and fills its pools first; both targets get the same), then forgets what it saw.
/// </summary>
internal static class Warmup
{
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(1);

    public static async Task RunAsync(ScenarioContext context, DeliveryLedger ledger, Func<ApiSender, Task> send)
    {
        var options = context.Options;
        if (options.WarmupSeconds <= 0)
        {
            return;
        }
        using var sender = new ApiSender(context.Target.SendUrl, context.Tokens);
        await using (Progress.Start(context, "warm-up", () => $"sent {sender.Ok:N0}, delivered {ledger.Delivered:N0}"))
        {
            await OpenLoop.RunAsync(options.Rate, TimeSpan.FromSeconds(options.WarmupSeconds), options.MaxInFlight, _ => send(sender), context.CancellationToken);
            await Task.Delay(Quiet, context.CancellationToken);
        }
        ledger.ResetCounters();
    }
}
