using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using Realtime.LoadTest.Clients;
using Realtime.LoadTest.Measurement;
using Realtime.LoadTest.Push;
using Realtime.LoadTest.Sending;

namespace Realtime.LoadTest.Scenarios;

/// <summary>
/// <c>push</c>: -n offline users, each with one Web Push subscription on the tool's own local
/// sink (<see cref="PushSink"/>); bulk sends of --bulk of them at -r pushes per second for -d
/// seconds, after --warmup seconds of the same load unmeasured (JIT, pools; its pushes drained
/// first); pushes/s the sink received (first to last push), pushes lost and duplicated (warm-up
/// included), the server's CPU per push. The server must accept http:// loopback endpoints
/// (<c>Push__AllowInsecureEndpoints=true</c>); a target without Web Push is reported as such.
/// </summary>
internal static class PushScenario
{
    private const int SubscribeConcurrency = 32;

    /// <summary>
    /// The subscriptions and unsent jobs an earlier target of this run left in the same database
    /// (bench.sh gives every target one PostgreSQL): their sink is gone, so the next target would
    /// spend its run retrying them. Only this run's users (the prefix has the run id).
    /// </summary>
    private const string ClearEarlierTargets = """
        DELETE FROM push_jobs WHERE user_id LIKE @Prefix;
        DELETE FROM push_subscriptions WHERE user_id LIKE @Prefix;
        """;

    public static async Task<ScenarioResult> RunAsync(ScenarioContext context)
    {
        var options = context.Options;
        var result = context.NewResult("push");
        var users = options.Connections;
        var bulk = Math.Clamp(options.Bulk ?? 100, 1, users);
        await using var sink = await PushSink.StartAsync(users, context.CancellationToken);
        var prefix = "push-" + options.RunId + "-";
        await ClearEarlierTargetsAsync(context, prefix, result);

        var subscribed = await SubscribeAllAsync(context, sink, prefix, users, result);
        if (subscribed < 0)
        {
            return result;
        }
        result.Add("subscriptions", subscribed);

        var expected = new int[users];
        var next = 0;
        Func<ApiSender, Task> send = async sender =>
        {
            var first = Interlocked.Add(ref next, bulk) - bulk;
            var recipients = Enumerable.Range(first, bulk).Select(i => i % users).ToArray();
            if (await sender.SendAsync(recipients.Select(i => prefix + i).ToList(), first, extra: null, context.CancellationToken))
            {
                foreach (var i in recipients)
                {
                    Interlocked.Increment(ref expected[i]);
                }
            }
        };
        if (options.WarmupSeconds > 0)
        {
            using var warmup = new ApiSender(context.Target.SendUrl, context.Tokens);
            await using (Progress.Start(context, "warm-up", () => $"sends {warmup.Ok:N0}, pushes received {sink.Total:N0}"))
            {
                await OpenLoop.RunAsync(options.Rate / bulk, TimeSpan.FromSeconds(options.WarmupSeconds), options.MaxInFlight, _ => send(warmup), context.CancellationToken);
                await DrainAsync(sink, expected.Sum(), options.DrainSeconds, context.CancellationToken);
            }
            if (sink.Total < expected.Sum())
            {
                result.Note($"push: {expected.Sum() - sink.Total:N0} warm-up pushes were still queued when the measured run began");
            }
        }
        var warmupExpected = expected.Sum();
        sink.StartWindow();

        using var sender = new ApiSender(context.Target.SendUrl, context.Tokens);
        var cpuBefore = context.ServerCpu();
        var start = Stopwatch.GetTimestamp();
        await using (Progress.Start(context, "push", () => $"sends {sender.Ok:N0}, pushes received {sink.WindowTotal:N0}"))
        {
            await OpenLoop.RunAsync(options.Rate / bulk, options.Duration, options.MaxInFlight, _ => send(sender), context.CancellationToken);
            await DrainAsync(sink, expected.Sum(), options.DrainSeconds, context.CancellationToken);
        }
        var cpuAfter = context.ServerCpu();
        var expectedTotal = expected.Sum() - warmupExpected;
        var received = sink.WindowTotal;
        var (firstAt, lastAt) = sink.Window;
        var lost = 0L;
        var duplicated = 0L;
        for (var i = 0; i < users; i++)
        {
            var arrived = sink.ArrivalsOf(i);
            lost += Math.Max(0, expected[i] - arrived);
            duplicated += Math.Max(0, arrived - expected[i]);
        }
        result.Add("pushes offered (/s)", options.Rate);
        result.Add("pushes expected", expectedTotal);
        result.Add("pushes received", received);
        result.Add("pushes (/s)", firstAt == 0 ? 0 : received / Math.Max(0.001, Stopwatch.GetElapsedTime(firstAt, lastAt).TotalSeconds));
        result.Add("first push after (ms)", firstAt == 0 ? 0 : Stopwatch.GetElapsedTime(start, firstAt).TotalMilliseconds);
        result.Add("last push after (ms)", lastAt == 0 ? 0 : Stopwatch.GetElapsedTime(start, lastAt).TotalMilliseconds);
        result.Add("not pushed by the end", lost);
        result.Add("duplicated", duplicated);
        result.Add("bytes per push", received == 0 ? 0 : (double)sink.WindowBytes / received);
        if (cpuBefore is { } before && cpuAfter is { } after && received > 0)
        {
            result.Add("server CPU per push (ms)", (after - before).TotalMilliseconds / received);
        }
        sender.AddTo(result, "sends");
        return result;
    }

    /// <summary>Waits until the sink has <paramref name="total"/> pushes, at most <paramref name="seconds"/>.</summary>
    private static async Task DrainAsync(PushSink sink, long total, double seconds, CancellationToken cancellationToken)
    {
        var until = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        while (sink.Total < total && Stopwatch.GetTimestamp() < until)
        {
            await Task.Delay(50, cancellationToken);
        }
    }

    private static async Task ClearEarlierTargetsAsync(ScenarioContext context, string prefix, ScenarioResult result)
    {
        if (context.Options.Postgres is not { Length: > 0 } postgres)
        {
            return;
        }
        try
        {
            await using var connection = new NpgsqlConnection(postgres);
            await connection.OpenAsync(context.CancellationToken);
            await using var command = new NpgsqlCommand(ClearEarlierTargets, connection);
            command.Parameters.AddWithValue("Prefix", prefix + "%");
            await command.ExecuteNonQueryAsync(context.CancellationToken);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            // A target without Web Push tables (the baseline stores nothing).
        }
        catch (NpgsqlException ex)
        {
            result.Note("push: could not clear an earlier target's subscriptions and jobs: " + ex.Message);
        }
    }

    /// <summary>One subscription per user through the API; -1 when the target has no Web Push.</summary>
    private static async Task<int> SubscribeAllAsync(ScenarioContext context, PushSink sink, string prefix, int users, ScenarioResult result)
    {
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var point = key.ExportParameters(includePrivateParameters: false).Q;
        var p256dh = Base64Url([0x04, .. point.X!, .. point.Y!]);
        using var http = new HttpClient(ClientSockets.ApiHandler()) { BaseAddress = context.Target.SendUrl, Timeout = TimeSpan.FromSeconds(30) };
        var done = 0;
        var failures = new System.Collections.Concurrent.ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var clock = Stopwatch.StartNew();
        await using (Progress.Start(context, "subscribe", () => $"subscribed {Volatile.Read(ref done):N0}/{users:N0}"))
        {
            await Parallel.ForAsync(0, users, new ParallelOptions { MaxDegreeOfParallelism = SubscribeConcurrency, CancellationToken = context.CancellationToken }, async (i, ct) =>
            {
                var auth = Base64Url(RandomNumberGenerator.GetBytes(16));
                var body = "{\"endpoint\":\"" + sink.EndpointOf(i) + "\",\"expirationTime\":null,\"keys\":{\"p256dh\":\"" + p256dh + "\",\"auth\":\"" + auth + "\"}}";
                using var request = new HttpRequestMessage(HttpMethod.Post, "/api/push/subscriptions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", context.Tokens.User(prefix + i));
                using var response = await http.SendAsync(request, ct);
                if (response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref done);
                }
                else
                {
                    failures.AddOrUpdate(((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture), 1, (_, n) => n + 1);
                }
            });
        }
        if (done == 0)
        {
            var why = failures.ContainsKey("404") || failures.ContainsKey("405")
                ? "the target has no Web Push (POST /api/push/subscriptions: 404)"
                : "no subscription was accepted (" + string.Join(", ", failures.Select(f => $"{f.Value} x {f.Key}")) + "); run the server with Push__AllowInsecureEndpoints=true";
            result.Note("push: " + why + "; nothing measured");
            return -1;
        }
        result.Add("subscribe rate (/s)", done / Math.Max(0.001, clock.Elapsed.TotalSeconds));
        foreach (var (status, count) in failures)
        {
            result.Note($"subscribe: {count} x {status}");
        }
        return done;
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
