using System.Threading.Channels;

namespace Realtime.Server.Operations;

/// <summary>The bounded wait of a background loop that polls, and is woken early through a channel.</summary>
internal static class ChannelWaits
{
    /// <summary>
    /// Waits until <paramref name="reader"/> has something to read or <paramref name="timeout"/> has
    /// passed, whichever comes first. The timeout is the usual end of an idle wait, so it ends without
    /// an exception; only <paramref name="stoppingToken"/> throws. Reads nothing.
    /// </summary>
    public static async Task WaitToReadOrTimeoutAsync<T>(this ChannelReader<T> reader, TimeSpan timeout, CancellationToken stoppingToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timer.CancelAfter(timeout);
        await ((Task)reader.WaitToReadAsync(timer.Token).AsTask()).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        stoppingToken.ThrowIfCancellationRequested();
    }
}
