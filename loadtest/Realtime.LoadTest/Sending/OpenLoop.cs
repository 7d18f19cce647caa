using System.Diagnostics;

namespace Realtime.LoadTest.Sending;

/// <summary>
/// Fires <c>action</c> at a fixed rate for a fixed time whether or not earlier calls have finished
/// (open loop: a slow server does not slow the offered load), with at most <c>maxInFlight</c>
/// unfinished; a call due while that many are in flight is skipped and counted.
/// </summary>
internal static class OpenLoop
{
    public static async Task<(long Issued, long Skipped)> RunAsync(
        double ratePerSecond, TimeSpan duration, int maxInFlight, Func<long, Task> action, CancellationToken cancellationToken)
    {
        var inFlight = 0;
        long issued = 0, skipped = 0;
        var pending = new List<Task>();
        var start = Stopwatch.GetTimestamp();
        while (!cancellationToken.IsCancellationRequested)
        {
            var elapsed = Stopwatch.GetElapsedTime(start);
            if (elapsed >= duration)
            {
                break;
            }
            var due = (long)(elapsed.TotalSeconds * ratePerSecond) + 1;
            while (issued + skipped < due)
            {
                if (Volatile.Read(ref inFlight) >= maxInFlight)
                {
                    skipped++;
                    continue;
                }
                var n = issued++;
                Interlocked.Increment(ref inFlight);
                pending.Add(Task.Run(async () =>
                {
                    try
                    {
                        await action(n);
                    }
                    finally
                    {
                        Interlocked.Decrement(ref inFlight);
                    }
                }, CancellationToken.None));
            }
            if (pending.Count > 10_000)
            {
                pending.RemoveAll(t => t.IsCompleted);
            }
            await Task.Delay(1, CancellationToken.None);
        }
        await Task.WhenAll(pending);
        return (issued, skipped);
    }
}
