using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>
/// The one bounded wait of the tests, for state that has no event to wait on (rows in PostgreSQL,
/// health, presence, a process that starts): poll until done, or fail with the last value seen.
/// </summary>
public static class Eventually
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// Polls <paramref name="read"/> (every <paramref name="interval"/>, 10 ms by default) until
    /// <paramref name="done"/> holds and returns that value; fails with the last value after
    /// <paramref name="timeout"/>. An exception from <paramref name="read"/> ends the wait at once.
    /// </summary>
    public static async Task<T> WaitUntilAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout, string what, Func<T, string>? describe = null, TimeSpan? interval = null)
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
            await Task.Delay(interval ?? PollInterval);
        }
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails after <paramref name="timeout"/>.</summary>
    public static Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what) =>
        WaitUntilAsync(() => Task.FromResult(condition()), done => done, timeout, what, _ => "false");

    /// <summary>
    /// Waits until <paramref name="path"/> under <paramref name="address"/> answers 200 (a refused
    /// connection counts as "not yet"), failing at once when <paramref name="gone"/> tells why the
    /// process behind it can no longer answer. Failures carry <paramref name="diagnostics"/>.
    /// </summary>
    public static async Task WaitUntilServingAsync(Uri address, string path, Func<string?> gone, TimeSpan timeout, string what, Func<string> diagnostics)
    {
        using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(5) };
        await WaitUntilAsync(
            async () =>
            {
                if (gone() is { } reason)
                {
                    throw new InvalidOperationException($"Not {what}: {reason}\n{diagnostics()}");
                }
                try
                {
                    var response = await client.GetAsync(path);
                    return response.StatusCode == HttpStatusCode.OK ? "" : $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    return ex.Message; // not listening yet
                }
            },
            last => last.Length == 0, timeout, what, last => $"{last}\n{diagnostics()}", TimeSpan.FromMilliseconds(50));
    }

    private static string Describe<T>(T value) => value switch
    {
        IEnumerable<JsonElement> elements => "[" + string.Join(", ", elements.Select(e => e.GetRawText())) + "]",
        _ => value?.ToString() ?? "null",
    };
}
