using System.Diagnostics;
using Realtime.LoadTest.Clients;
using Realtime.LoadTest.Measurement;
using Realtime.LoadTest.Sending;

namespace Realtime.LoadTest.Scenarios;

/// <summary>
/// <c>storm</c>: N connected, each has seen a first notification (a marker, so it has a cursor);
/// sends to random users run at rate R throughout (-d: half before the kill, half after all are back); the node is SIGKILLed and started again at once.
/// Every client reconnects (random 50–300 ms back-off between attempts) and resumes from the last
/// id it saw. Measured from the kill: when 99% and 100% are back and resumed; then, after the
/// sends stop and the last deliveries drain, acknowledged notifications never delivered (lost)
/// and delivered twice (duplicated).
/// </summary>
internal static class StormScenario
{
    private const int MarkerChunk = 1_000;
    private static readonly TimeSpan BackTimeout = TimeSpan.FromSeconds(60);

    public static async Task<ScenarioResult> RunAsync(ScenarioContext context)
    {
        var options = context.Options;
        var result = context.NewResult("storm");
        var launcher = context.Launcher
            ?? throw new ArgumentException($"storm needs --command {context.Target.Name}=... so the tool can kill and restart the node");
        var ct = context.CancellationToken;
        // -d: half of it sending before the kill, half after everyone is back.
        var steady = TimeSpan.FromSeconds(Math.Max(0.5, options.DurationSeconds / 2));
        var ledger = new DeliveryLedger((int)(options.Rate * (BackTimeout.TotalSeconds + 2 * steady.TotalSeconds + 10)) + options.Connections / MarkerChunk + 10);
        await using var pool = await Receivers.ConnectAsync(context, ledger, result);
        using var sender = new ApiSender(context.Target.SendUrl, context.Tokens);

        // A first notification for everyone, so every client has a cursor to resume from.
        var clients = pool.Clients.Where(c => c.IsConnected).ToArray();
        foreach (var chunk in clients.Chunk(MarkerChunk))
        {
            var seq = ledger.NextSeq();
            if (await sender.SendAsync(chunk.Select(c => pool.UserId(c.Index)).ToArray(), seq, null, ct))
            {
                ledger.Acknowledge(seq, chunk.Length);
            }
        }
        await ledger.DrainAsync(TimeSpan.FromSeconds(options.DrainSeconds), ct);

        using var stopSending = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var users = clients.Select(c => pool.UserId(c.Index)).ToArray();
        var sending = OpenLoop.RunAsync(options.Rate, TimeSpan.FromHours(1), options.MaxInFlight, async _ =>
        {
            var seq = ledger.NextSeq();
            if (seq >= 0 && await sender.SendAsync(users[Random.Shared.Next(users.Length)], seq, stopSending.Token))
            {
                ledger.Acknowledge(seq, 1);
            }
        }, stopSending.Token);
        await Task.Delay(steady, ct);

        var back = new long[clients.Length];
        var killedAt = Stopwatch.GetTimestamp();
        var reconnects = clients.Select((client, i) => ReconnectAsync(pool, client, i, back, ct)).ToArray();
        await launcher.KillAsync();
        killedAt = Stopwatch.GetTimestamp();
        var backCount = 0;
        await using (Progress.Start(context, "storm", () => $"back and resumed {Volatile.Read(ref backCount):N0}/{clients.Length:N0}, sent {sender.Ok:N0}, failed {sender.Failed:N0}"))
        {
            await launcher.StartAsync(ct);
            var readyAfter = Stopwatch.GetElapsedTime(killedAt);
            result.Add("node ready again after (s)", readyAfter.TotalSeconds);
            var all = Task.WhenAll(reconnects);
            while (!all.IsCompleted && Stopwatch.GetElapsedTime(killedAt) < BackTimeout)
            {
                backCount = back.Count(b => b != 0);
                await Task.WhenAny(all, Task.Delay(100, ct));
            }
            backCount = back.Count(b => b != 0);
            await Task.Delay(steady, ct);
            await stopSending.CancelAsync();
            await sending;
            await ledger.DrainAsync(TimeSpan.FromSeconds(options.DrainSeconds), ct);
        }
        var times = back.Where(b => b != 0).Select(b => Stopwatch.GetElapsedTime(killedAt, b).TotalSeconds).Order().ToArray();
        result.Add("back and resumed", times.Length);
        result.Add("99% back after (s)", times.Length >= Math.Ceiling(clients.Length * 0.99) ? times[(int)Math.Ceiling(clients.Length * 0.99) - 1] : double.NaN);
        result.Add("100% back after (s)", times.Length == clients.Length ? times[^1] : double.NaN);
        result.Add("100% back after ready (s)", times.Length == clients.Length ? times[^1] - result["node ready again after (s)"] : double.NaN);
        result.Add("reconnect attempts", pool.ConnectAttempts);
        result.Add("sends acknowledged", sender.Ok);
        result.Add("sends failed (node down)", sender.Failed);
        result.Add("lost", ledger.Missing());
        result.Add("duplicated", ledger.Duplicated());
        ledger.EndToEnd.AddTo(result, "end-to-end");
        if (times.Length < clients.Length)
        {
            result.Note($"{clients.Length - times.Length} clients were not back within {BackTimeout.TotalSeconds} s");
        }
        return result;
    }

    private static async Task ReconnectAsync(ClientPool pool, ILiveClient client, int slot, long[] back, CancellationToken ct)
    {
        await client.Closed.WaitAsync(BackTimeout, ct);
        var deadline = Stopwatch.GetTimestamp() + (long)(BackTimeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(Random.Shared.Next(50, 300), ct);
            if (await pool.ConnectOnceAsync(client, client.LastId, ct))
            {
                Volatile.Write(ref back[slot], Stopwatch.GetTimestamp());
                return;
            }
        }
    }
}
