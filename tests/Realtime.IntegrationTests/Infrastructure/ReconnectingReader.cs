using System.Globalization;
using System.Net;
using static Realtime.IntegrationTests.Infrastructure.ScaleOutTraffic;

namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>
/// A client that reconnects again and again while senders run, each time resuming from the
/// highest id it has (the hub's Resume, or SSE's Last-Event-ID), checking on every connection that
/// ids strictly increase from that cursor. The tests then compare what it got with what was sent.
/// </summary>
public static class ReconnectingReader
{
    /// <summary>How long the last connections listen once the senders are done, and how many at most.</summary>
    private static readonly TimeSpan FinalListen = TimeSpan.FromMilliseconds(100);
    private const int MaxFinalConnections = 50;

    /// <summary>One connection: resumes after <paramref name="cursor"/>, lives <paramref name="listenFor"/>, closes; what it received, in wire order.</summary>
    public delegate Task<List<(long Id, string? UserId)>> Connection(int index, long cursor, TimeSpan listenFor);

    public sealed record Outcome(List<long> Sent, List<long> Received, int Connections);

    /// <summary>Each sender's sends number k·this and after wait for the reader's k-th connection.</summary>
    public const int SendsPerConnection = 8;

    /// <summary>How long a sender waits for the reader's next connection before the test gives up.</summary>
    private static readonly TimeSpan ReaderPatience = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Starts <paramref name="send"/> with a pacing step its senders await before each send (send number i waits
    /// for the reader's connection i / <see cref="SendsPerConnection"/>), so the sends are spread over the
    /// reader's connections however fast the server answers. Connects every <paramref name="every"/> while the
    /// sending runs, then until it has as many ids as were sent (bounded): the last replay may take a moment to arrive.
    /// </summary>
    public static async Task<Outcome> ReadWhileSendingAsync(string userId, Func<Func<int, Task>, Task<List<long>>> send, TimeSpan every, Connection connect)
    {
        var made = new ConnectionCount();
        var sending = send(i => made.AtLeastAsync(i / SendsPerConnection).WaitAsync(ReaderPatience));
        var received = new List<long>();

        async Task ReadOnceAsync(TimeSpan listenFor)
        {
            var cursor = received.Count == 0 ? 0 : received[^1];
            var index = made.Count;
            var notifications = await connect(index, cursor, listenFor);
            AssertIncreasingFrom(cursor, $"connection {index} (resumed after {cursor})", notifications.Select(n => n.Id).ToList());
            made.Increment();
            received.AddRange(IdsOf(userId, notifications));
        }

        while (!sending.IsCompleted)
        {
            await ReadOnceAsync(every);
        }
        var sent = await sending;
        for (var attempt = 0; attempt < MaxFinalConnections && (attempt == 0 || received.Count < sent.Count); attempt++)
        {
            await ReadOnceAsync(FinalListen);
        }
        return new Outcome(sent, received, made.Count);
    }

    /// <summary>The reader's connections so far, which paced senders wait for.</summary>
    private sealed class ConnectionCount
    {
        private readonly Lock _lock = new();
        private int _count;
        private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Count
        {
            get
            {
                lock (_lock)
                {
                    return _count;
                }
            }
        }

        public void Increment()
        {
            TaskCompletionSource reached;
            lock (_lock)
            {
                _count++;
                reached = _next;
                _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            reached.SetResult();
        }

        /// <summary>Completes once the reader has made <paramref name="count"/> connections.</summary>
        public async Task AtLeastAsync(int count)
        {
            while (true)
            {
                Task next;
                lock (_lock)
                {
                    if (_count >= count)
                    {
                        return;
                    }
                    next = _next.Task;
                }
                await next;
            }
        }
    }

    /// <summary>Connections over <paramref name="transport"/>: <c>hub</c> or <c>SSE</c>.</summary>
    public static Connection Over(string transport, Func<int, RealtimeServer> nodeFor, string token) => transport switch
    {
        "hub" => Hub(nodeFor, token),
        "SSE" => Sse(nodeFor, token),
        _ => throw new ArgumentOutOfRangeException(nameof(transport), transport, "hub or SSE"),
    };

    /// <summary>Hub connections with <paramref name="token"/> to the node <paramref name="nodeFor"/> picks for each connection.</summary>
    public static Connection Hub(Func<int, RealtimeServer> nodeFor, string token) => async (index, cursor, listenFor) =>
    {
        await using var hub = await nodeFor(index).ConnectHubAsync(token);
        await hub.InvokeAsync("Resume", cursor);
        await Task.Delay(listenFor); // how long this connection lives, not a synchronisation
        await hub.CloseAsync();
        return Notifications(hub);
    };

    /// <summary>SSE streams with <paramref name="token"/> and the cursor as Last-Event-ID.</summary>
    public static Connection Sse(Func<int, RealtimeServer> nodeFor, string token) => async (index, cursor, listenFor) =>
    {
        await using var stream = await SseTestClient.ConnectAsync(nodeFor(index).BaseAddress, token, lastEventId: cursor.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
        await stream.Retry.WaitAsync(SseTestClient.DefaultTimeout);
        await Task.Delay(listenFor); // how long this connection lives, not a synchronisation
        return Notifications(stream);
    };
}
