using System.Diagnostics;
using Realtime.LoadTest.Clients;
using Realtime.LoadTest.Measurement;
using Realtime.LoadTest.Sending;

namespace Realtime.LoadTest.Scenarios;

/// <summary>
/// <c>sends</c>: the most persisted sends a node sustains. Closed loop (like wrk): C senders, each
/// sending again as soon as it is answered, for D seconds (each at least once); first one recipient per send, then
/// <c>--bulk</c> recipients per send. Recipients are drawn from 10,000 users (nobody connected).
/// </summary>
internal static class SendsScenario
{
    private const int Users = 10_000;
    private const int DefaultBulk = 100;

    public static async Task<ScenarioResult> RunAsync(ScenarioContext context)
    {
        var options = context.Options;
        var result = context.NewResult("sends");
        var bulk = options.Bulk ?? DefaultBulk;
        if (options.WarmupSeconds > 0)
        {
            await RunPhaseAsync(context, context.NewResult("warm-up"), "warm-up", 1, options.WarmupSeconds);
        }
        await RunPhaseAsync(context, result, "single", 1, options.DurationSeconds);
        if (bulk > 1)
        {
            await RunPhaseAsync(context, result, "bulk", bulk, options.DurationSeconds);
        }
        return result;
    }

    private static async Task RunPhaseAsync(ScenarioContext context, ScenarioResult result, string phase, int recipients, double seconds)
    {
        var options = context.Options;
        using var sender = new ApiSender(context.Target.SendUrl, context.Tokens);
        var cpuBefore = context.ServerCpu();
        var start = Stopwatch.GetTimestamp();
        var deadline = start + (long)(seconds * Stopwatch.Frequency);
        await using (Progress.Start(context, phase, () => $"answered {sender.Ok:N0} ({sender.Ok / Stopwatch.GetElapsedTime(start).TotalSeconds:N0}/s), failed {sender.Failed:N0}"))
        {
            // Every sender sends at least once, however late it starts: on a loaded machine a short
            // phase can be over before a sender first runs, and the rate is over the time it really took.
            var workers = Enumerable.Range(0, options.Concurrency).Select(_ => Task.Run(async () =>
            {
                var ids = new string[recipients];
                do
                {
                    if (recipients == 1)
                    {
                        await sender.SendAsync(ClientPool.UserId(options, Random.Shared.Next(Users)), 0, context.CancellationToken);
                        continue;
                    }
                    var first = Random.Shared.Next(Users);
                    for (var i = 0; i < recipients; i++)
                    {
                        ids[i] = ClientPool.UserId(options, (first + i) % Users);
                    }
                    await sender.SendAsync(ids, 0, null, context.CancellationToken);
                }
                while (Stopwatch.GetTimestamp() < deadline && !context.CancellationToken.IsCancellationRequested);
            })).ToArray();
            await Task.WhenAll(workers);
        }
        seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        result.Add($"{phase}: requests (/s)", sender.Ok / seconds);
        result.Add($"{phase}: notifications (/s)", sender.Ok * recipients / seconds);
        result.Add($"{phase}: answer p50 (ms)", sender.AnswerTimes.PercentileMs(50));
        result.Add($"{phase}: answer p99 (ms)", sender.AnswerTimes.PercentileMs(99));
        result.Add($"{phase}: failed", sender.Failed);
        if (cpuBefore is { } before && context.ServerCpu() is { } after && sender.Ok > 0)
        {
            // CPU per notification holds up on a machine shared with other work, where rates do not (PostgreSQL's own CPU is not in it).
            result.Add($"{phase}: server CPU per 1,000 notifications (ms)", (after - before).TotalMilliseconds * 1000 / (sender.Ok * recipients));
        }
        if (sender.RateLimited > 0)
        {
            result.Add("429 answers", sender.RateLimited);
            result.Note("WARNING: the server's rate limit is on (429 answers): run it with " + Servers.ServerLauncher.RateLimitsOff);
        }
        foreach (var (outcome, count) in sender.Outcomes.Where(o => o.Key != "201" && o.Key != "200"))
        {
            result.Note($"{phase}: {count} x {outcome}");
        }
        if (recipients > 1)
        {
            result.Note($"bulk: {recipients} recipients per send");
        }
    }
}
