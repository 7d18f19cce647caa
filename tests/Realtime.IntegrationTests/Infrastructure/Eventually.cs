using System.Diagnostics;
using System.Text.Json;

namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>Bounded polling, for state that has no event to wait on (rows in PostgreSQL, health, presence).</summary>
public static class Eventually
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>Polls <paramref name="read"/> until <paramref name="done"/> holds and returns that value; fails with the last value after <paramref name="timeout"/>.</summary>
    public static async Task<T> WaitUntilAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout, string what, Func<T, string>? describe = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }
            if (clock.Elapsed > timeout)
            {
                Assert.Fail($"Not {what} within {timeout.TotalSeconds:0.###} s; last seen: {(describe ?? Describe)(value)}");
            }
            await Task.Delay(PollInterval);
        }
    }

    private static string Describe<T>(T value) => value switch
    {
        IEnumerable<JsonElement> elements => "[" + string.Join(", ", elements.Select(e => e.GetRawText())) + "]",
        _ => value?.ToString() ?? "null",
    };
}
