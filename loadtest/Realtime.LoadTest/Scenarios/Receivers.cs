using Realtime.LoadTest.Clients;
using Realtime.LoadTest.Measurement;

namespace Realtime.LoadTest.Scenarios;

/// <summary>The connect phase shared by the scenarios that receive: connect all, report, settle.</summary>
internal static class Receivers
{
    /// <summary>
    /// After the handshake SignalR still runs the hub's OnConnectedAsync before the connection is
    /// in its user's group: a short pause keeps the first sends from racing it (both targets alike).
    /// </summary>
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(500);

    public static async Task<ClientPool> ConnectAsync(ScenarioContext context, DeliveryLedger ledger, ScenarioResult result)
    {
        var pool = new ClientPool(context.Options, context.Target, context.Tokens, ledger, context.Options.Connections);
        TimeSpan elapsed;
        await using (Progress.Start(context, "connect", () => $"connected {pool.Connected:N0}/{pool.Clients.Length:N0}, errors {pool.ConnectErrors:N0}"))
        {
            elapsed = await pool.ConnectAllAsync(context.CancellationToken);
        }
        var connected = pool.Connected;
        result.Add("connections", connected);
        result.Add("connect errors", pool.ConnectErrors);
        result.Add("connect rate (/s)", connected / Math.Max(0.001, elapsed.TotalSeconds));
        result.Add("connect p99 (ms)", pool.ConnectTimes.PercentileMs(99));
        foreach (var (error, count) in pool.Errors.OrderByDescending(e => e.Value).Take(3))
        {
            result.Note($"connect: {count} x {error}");
        }
        if (connected == 0)
        {
            throw new InvalidOperationException("no connection could be opened: " + string.Join("; ", pool.Errors.Keys.Take(3)));
        }
        await Task.Delay(Settle, context.CancellationToken);
        return pool;
    }

    public static void AddDeliveries(ScenarioResult result, DeliveryLedger ledger)
    {
        ledger.EndToEnd.AddTo(result, "end-to-end");
        result.Add("deliveries", ledger.Delivered);
        result.Add("not delivered by the end", ledger.Missing()); // acknowledged, not arrived when the drain ended
        result.Add("duplicated", ledger.Duplicated());
        result.Add("other messages (unreadCount, …)", ledger.OtherMessages);
    }
}
