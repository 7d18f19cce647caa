using System.Net;
using System.Net.Http.Json;

namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>
/// A backend service that keeps sending to one user through one node until stopped: a few workers,
/// each sending one notification after the other with a short pause (a steady load, not a
/// synchronisation). Every send is recorded with its outcome and when it started and completed on
/// <see cref="ScaleOutTraffic.Clock"/>; nothing is asserted while it runs, so a failed send never
/// goes unnoticed in a background task: check <see cref="Failures"/>.
/// </summary>
public sealed class ScaleOutSender : IAsyncDisposable
{
    /// <summary>Longer than any send may take; a send that hangs (e.g. waiting on a dead Redis) fails instead.</summary>
    public static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(10);

    private readonly Uri _node;
    private readonly string _userId;
    private readonly TimeSpan _pause;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<SendRecord> _sends = [];
    private readonly Task[] _workers;

    public ScaleOutSender(Uri node, string userId, int workers = 2, TimeSpan? pause = null)
    {
        _node = node;
        _userId = userId;
        _pause = pause ?? TimeSpan.FromMilliseconds(20);
        _workers = Enumerable.Range(0, workers).Select(worker => Task.Run(() => RunAsync(worker))).ToArray();
    }

    /// <summary>One send: the id (0 when it failed), its status (0 when no answer), and when it started and completed.</summary>
    public sealed record SendRecord(long Id, HttpStatusCode Status, TimeSpan Started, TimeSpan Completed, string? Error)
    {
        public TimeSpan Latency => Completed - Started;
    }

    public IReadOnlyList<SendRecord> Sends
    {
        get { lock (_gate) return _sends.ToList(); }
    }

    /// <summary>Ids of the successful sends, increasing.</summary>
    public IReadOnlyList<long> Ids => Sends.Where(s => s.Id > 0).Select(s => s.Id).Order().ToList();

    /// <summary>Every send that did not answer 201, described.</summary>
    public IReadOnlyList<string> Failures =>
        Sends.Where(s => s.Status != HttpStatusCode.Created).Select(s => $"{(int)s.Status} at {s.Started.TotalSeconds:0.000}s: {s.Error}").ToList();

    /// <summary>Waits for the first successful send that started at or after <paramref name="since"/> (on <see cref="ScaleOutTraffic.Clock"/>).</summary>
    public async Task<SendRecord> NextSentAsync(TimeSpan since, TimeSpan timeout)
    {
        SendRecord? found = null;
        await Eventually.WaitUntilAsync(
            () => Task.FromResult(found = Sends.Where(s => s.Started >= since && s.Id > 0).MinBy(s => s.Id)),
            s => s is not null, timeout, $"a send started after {since.TotalSeconds:0.000}s answered",
            _ => $"{Sends.Count} sends, failures: [{string.Join("; ", Failures.TakeLast(5))}]");
        return found!;
    }

    /// <summary>Waits until at least <paramref name="count"/> sends have succeeded since <paramref name="since"/>.</summary>
    public Task WaitForSendsAsync(TimeSpan since, int count, TimeSpan timeout) =>
        Eventually.WaitUntilAsync(
            () => Task.FromResult(Sends.Count(s => s.Started >= since && s.Id > 0)), n => n >= count, timeout,
            $"{count} sends answered since {since.TotalSeconds:0.000}s", n => $"{n}; failures: [{string.Join("; ", Failures.TakeLast(5))}]");

    /// <summary>Stops sending and waits for the sends in flight to finish.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_workers).WaitAsync(SendTimeout + TimeSpan.FromSeconds(5));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (TimeoutException)
        {
        }
        _stop.Dispose();
    }

    private async Task RunAsync(int worker)
    {
        using var client = ScaleOutTraffic.Client(_node, TestTokens.Default.Service($"steady-sender-{worker}"), SendTimeout);
        for (var i = 0; !_stop.IsCancellationRequested; i++)
        {
            var started = ScaleOutTraffic.Clock.Elapsed;
            SendRecord record;
            try
            {
                // Not cancelled by Stop: a send in flight completes, so its id is known.
                var response = await client.PostAsJsonAsync("/api/notifications", new { userId = _userId, title = $"w{worker}-{i}" });
                var completed = ScaleOutTraffic.Clock.Elapsed;
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    var sent = await response.Content.ReadFromJsonAsync<RealtimeServer.SendResult>();
                    record = new SendRecord(sent!.Notifications.Single().Id, response.StatusCode, started, completed, null);
                }
                else
                {
                    record = new SendRecord(0, response.StatusCode, started, completed, await response.Content.ReadAsStringAsync());
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                record = new SendRecord(0, 0, started, ScaleOutTraffic.Clock.Elapsed, $"{ex.GetType().Name}: {ex.Message}");
            }
            lock (_gate)
            {
                _sends.Add(record);
            }
            try
            {
                await Task.Delay(_pause, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
