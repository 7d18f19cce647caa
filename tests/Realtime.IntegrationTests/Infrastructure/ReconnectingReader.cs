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

    /// <summary>
    /// Connects every <paramref name="every"/> while <paramref name="sending"/> runs, then until it has
    /// as many ids as were sent (bounded): the last replay may take a moment to arrive.
    /// </summary>
    public static async Task<Outcome> ReadWhileSendingAsync(string userId, Task<List<long>> sending, TimeSpan every, Connection connect)
    {
        var received = new List<long>();
        var connections = 0;

        async Task ReadOnceAsync(TimeSpan listenFor)
        {
            var cursor = received.Count == 0 ? 0 : received[^1];
            var notifications = await connect(connections, cursor, listenFor);
            AssertIncreasingFrom(cursor, $"connection {connections} (resumed after {cursor})", notifications.Select(n => n.Id).ToList());
            connections++;
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
        return new Outcome(sent, received, connections);
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
