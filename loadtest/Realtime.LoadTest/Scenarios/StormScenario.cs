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
/// and delivered twice (duplicated). A target that keeps nothing (<see cref="Target.Resumes"/> false: the
/// baseline) is measured the same way; "back" is then connected again with its <c>Resume</c> answered
/// (it replays nothing), and what it acknowledged and never delivered gets rows of its own, as what
/// its users miss rather than a failure. Past <c>--per-process</c> connections the clients live in
/// worker processes (<see cref="ReceiverWorkers"/>); this process sends, kills and counts.
/// </summary>
internal static class StormScenario
{
    private const int MarkerChunk = 1_000;

    /// <summary>
    /// The sender's connections to the node at most. The node holds every client too, up to its
    /// descriptor limit (20,000 here, per process): while it works through the resumes each send
    /// waits seconds, and a pool of 1,024 (then the default) filled up and left 19,000 clients short
    /// of descriptors. 128 carry the 200 sends/s at up to 640 ms an answer; past that sends wait here.
    /// </summary>
    internal const int SenderConnections = 128;
    internal static readonly TimeSpan BackTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Clients connected again whose Resume was answered (with the missed notifications, for a target that resumes).</summary>
    internal const string BackRow = "back: connected, Resume answered";

    /// <summary>A resuming target's acknowledged deliveries that never arrived: must be 0.</summary>
    internal const string LostRow = "lost";

    /// <summary>The same for a target that keeps nothing (resume=none): what its users miss in a storm.</summary>
    internal const string NeverDeliveredRow = "no resume: acknowledged, never delivered";

    internal const string NeverDeliveredShareRow = "no resume: never delivered, % of acknowledged";

    /// <summary>Sequence numbers a run can issue: the same in the parent and its workers (markers included, up to a million clients).</summary>
    internal static int LedgerCapacity(LoadTestOptions options) =>
        (int)(options.Rate * (BackTimeout.TotalSeconds + 2 * Steady(options).TotalSeconds + 10)) + 1_000 + 10;

    /// <summary>-d: half of it sending before the kill, half after everyone is back.</summary>
    private static TimeSpan Steady(LoadTestOptions options) => TimeSpan.FromSeconds(Math.Max(0.5, options.DurationSeconds / 2));

    public static async Task<ScenarioResult> RunAsync(ScenarioContext context, string[] rawArgs)
    {
        var options = context.Options;
        if (options.Worker)
        {
            return await ReceiverWorkers.RunWorkerAsync(context);
        }
        var result = context.NewResult("storm");
        var launcher = context.Launcher
            ?? throw new ArgumentException($"storm needs --command {context.Target.Name}=... so the tool can kill and restart the node");
        var ct = context.CancellationToken;
        var steady = Steady(options);
        var ledger = new DeliveryLedger(LedgerCapacity(options));
        await using ReceiverSet clients = options.Connections > options.PerProcess
            ? new ReceiverWorkers(context, rawArgs)
            : new InProcessReceivers(context, ledger);
        var users = await clients.ConnectAsync(result);
        using var sender = new ApiSender(context.Target.SendUrl, context.Tokens, SenderConnections);

        // A first notification for everyone, so every client has a cursor to resume from.
        foreach (var chunk in users.Chunk(MarkerChunk))
        {
            var seq = ledger.NextSeq();
            if (await sender.SendAsync(chunk, seq, null, ct))
            {
                ledger.Acknowledge(seq, chunk.Length);
            }
        }
        await DrainAsync(clients, ledger, TimeSpan.FromSeconds(options.DrainSeconds), ct);

        using var stopSending = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var sending = OpenLoop.RunAsync(options.Rate, TimeSpan.FromHours(1), options.MaxInFlight, async _ =>
        {
            var seq = ledger.NextSeq();
            if (seq >= 0 && await sender.SendAsync(users[Random.Shared.Next(users.Length)], seq, stopSending.Token))
            {
                ledger.Acknowledge(seq, 1);
            }
        }, stopSending.Token);
        await Task.Delay(steady, ct);

        await clients.StartReconnectingAsync();
        var toolCpuBefore = clients.ToolCpu();
        await launcher.KillAsync();
        var killedAt = Stopwatch.GetTimestamp();
        var back = 0;
        await using (Progress.Start(context, "storm", () => $"back {Volatile.Read(ref back):N0}/{users.Length:N0}, sent {sender.Ok:N0}, failed {sender.Failed:N0}"))
        {
            await launcher.StartAsync(ct);
            var readyAfter = Stopwatch.GetElapsedTime(killedAt);
            result.Add("node ready again after (s)", readyAfter.TotalSeconds);
            if (context.ServerCpu() is { } cpu)
            {
                result.Add("server CPU until ready (s)", cpu.TotalSeconds);
            }
            while (Stopwatch.GetElapsedTime(killedAt) < BackTimeout)
            {
                var status = await clients.StatusAsync();
                Volatile.Write(ref back, status.Back);
                if (status.Back >= users.Length)
                {
                    break;
                }
                await Task.Delay(100, ct);
            }
            if (context.ServerCpu() is { } cpuBack)
            {
                result.Add("server CPU from start to all back (s)", cpuBack.TotalSeconds);
            }
            result.Add("tool CPU from the kill to all back (s)", (clients.ToolCpu() - toolCpuBefore).TotalSeconds);
            await Task.Delay(steady, ct);
            await stopSending.CancelAsync();
            await sending;
            await DrainAsync(clients, ledger, TimeSpan.FromSeconds(options.DrainSeconds), ct);
        }
        var (backAt, attempts) = await clients.FinishAsync(ledger);
        var times = backAt.Where(b => b != 0).Select(b => Stopwatch.GetElapsedTime(killedAt, b).TotalSeconds).Order().ToArray();
        var total = users.Length;
        result.Add(BackRow, times.Length);
        result.Add("99% back after (s)", times.Length >= Math.Ceiling(total * 0.99) ? times[(int)Math.Ceiling(total * 0.99) - 1] : double.NaN);
        result.Add("100% back after (s)", times.Length == total ? times[^1] : double.NaN);
        result.Add("100% back after ready (s)", times.Length == total ? times[^1] - result["node ready again after (s)"] : double.NaN);
        result.Add("reconnect attempts", attempts);
        result.Add("sends acknowledged", sender.Ok);
        result.Add("sends failed (node down)", sender.Failed);
        var acknowledged = ledger.ExpectedDeliveries();
        var missing = ledger.Missing();
        result.Add("deliveries acknowledged", acknowledged);
        if (context.Target.Resumes)
        {
            result.Add(LostRow, missing);
        }
        else
        {
            result.Add(NeverDeliveredRow, missing);
            result.Add(NeverDeliveredShareRow, 100.0 * missing / Math.Max(1, acknowledged));
            result.Note($"{context.Target.Name} does not resume (resume=none): \"back\" is connected again with its Resume answered (it replays nothing); "
                + $"\"{NeverDeliveredRow}\" counts the deliveries it acknowledged (2xx) that no client received, mostly sends to users not connected at that moment: what its users miss");
        }
        result.Add("duplicated", ledger.Duplicated());
        ledger.EndToEnd.AddTo(result, "end-to-end");
        if (times.Length < total)
        {
            result.Note($"{total - times.Length} clients were not back within {BackTimeout.TotalSeconds} s");
        }
        return result;
    }

    /// <summary>
    /// Until as many deliveries arrived as were acknowledged and none arrived for a second (a send
    /// whose answer was lost to the kill is delivered too, so the count alone can be reached early),
    /// nothing arrived for 3 s, or the drain time is up.
    /// </summary>
    internal static async Task DrainAsync(ReceiverSet clients, DeliveryLedger ledger, TimeSpan drain, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(drain.TotalSeconds * Stopwatch.Frequency);
        var last = -1L;
        var lastChange = Stopwatch.GetTimestamp();
        while (Stopwatch.GetTimestamp() < deadline)
        {
            var delivered = (await clients.StatusAsync()).Delivered;
            if (delivered != last)
            {
                last = delivered;
                lastChange = Stopwatch.GetTimestamp();
            }
            var quiet = Stopwatch.GetElapsedTime(lastChange);
            if ((delivered >= ledger.ExpectedDeliveries() && quiet > TimeSpan.FromSeconds(1)) || quiet > TimeSpan.FromSeconds(3))
            {
                return;
            }
            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>
    /// One client's reconnect loop: waits for the drop, then tries every 50–300 ms until connected and resumed.
    /// An attempt may wait for its answer until the storm's deadline, as a real client stays connected
    /// and waits for its resume: a fixed per-attempt bound would turn a slow answer into a new
    /// connection and another resume.
    /// </summary>
    internal static async Task ReconnectAsync(ClientPool pool, ILiveClient client, int slot, long[] back, CancellationToken ct)
    {
        await client.Closed.WaitAsync(BackTimeout, ct);
        var deadline = Stopwatch.GetTimestamp() + (long)(BackTimeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(Random.Shared.Next(50, 300), ct);
            var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
            if (remaining <= TimeSpan.Zero)
            {
                return;
            }
            if (await pool.ConnectOnceAsync(client, client.LastId, ct, remaining))
            {
                Volatile.Write(ref back[slot], Stopwatch.GetTimestamp());
                return;
            }
        }
    }
}
