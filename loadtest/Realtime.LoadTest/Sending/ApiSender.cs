using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Realtime.LoadTest.Clients;
using Realtime.LoadTest.Measurement;

namespace Realtime.LoadTest.Sending;

/// <summary>
/// Sends over HTTP as a backend service (<c>POST /api/notifications</c>) and as an admin
/// (<c>POST /api/broadcasts</c>), every one carrying <c>data: { seq, sentAt }</c> (sentAt: the
/// monotonic clock's timestamp, comparable across processes on this machine). Counts answers by
/// status, and 429s (the server's rate limit is on) separately.
/// </summary>
internal sealed class ApiSender : IDisposable
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private readonly HttpClient _http;
    private readonly AuthenticationHeaderValue _service;
    private readonly AuthenticationHeaderValue _admin;
    private readonly ConcurrentDictionary<string, long> _outcomes = new(StringComparer.Ordinal);
    private long _ok;
    private long _failed;
    private long _rateLimited;

    /// <param name="maxConnections">Connections to the node at most; sends past them wait for one in this process.</param>
    public ApiSender(Uri sendUrl, TokenMinter tokens, int maxConnections = ClientSockets.ApiConnections)
    {
        _http = new HttpClient(ClientSockets.ApiHandler(maxConnections)) { BaseAddress = sendUrl, Timeout = TimeSpan.FromSeconds(30) };
        _service = new AuthenticationHeaderValue("Bearer", tokens.Service());
        _admin = new AuthenticationHeaderValue("Bearer", tokens.Admin());
    }

    public LatencyHistogram AnswerTimes { get; } = new();

    public long Ok => Interlocked.Read(ref _ok);

    public long Failed => Interlocked.Read(ref _failed);

    public long RateLimited => Interlocked.Read(ref _rateLimited);

    public IReadOnlyDictionary<string, long> Outcomes => _outcomes;

    /// <summary>A send to one user; true once the server answered 2xx.</summary>
    public Task<bool> SendAsync(string userId, int seq, CancellationToken cancellationToken) =>
        PostAsync("/api/notifications", _service, Body("\"userId\":\"" + userId + "\"", seq, extra: null), cancellationToken);

    /// <summary>A bulk send to several users (one <c>seq</c> for all of them).</summary>
    /// <remarks><paramref name="extra"/> adds fields (e.g. <c>"body":"…"</c>), <paramref name="dataExtra"/> fields of <c>data</c>.</remarks>
    public Task<bool> SendAsync(IReadOnlyList<string> userIds, int seq, string? extra, CancellationToken cancellationToken, string? dataExtra = null) =>
        PostAsync("/api/notifications", _service, Body("\"userIds\":[" + string.Join(',', userIds.Select(u => "\"" + u + "\"")) + "]", seq, extra, dataExtra), cancellationToken);

    public Task<bool> BroadcastAsync(int seq, CancellationToken cancellationToken) =>
        PostAsync("/api/broadcasts", _admin, Body(null, seq, extra: null), cancellationToken);

    public void AddTo(ScenarioResult result, string what)
    {
        result.Add($"{what} answered 2xx", Ok);
        result.Add($"{what} failed", Failed);
        AnswerTimes.AddTo(result, $"{what} answer");
        if (RateLimited > 0)
        {
            result.Add("429 answers", RateLimited);
            result.Note("WARNING: the server's rate limit is on (429 answers): run it with " + Servers.ServerLauncher.RateLimitsOff);
        }
        foreach (var (outcome, count) in _outcomes.Where(o => o.Key != "201" && o.Key != "200").OrderByDescending(o => o.Value).Take(5))
        {
            result.Note($"{what}: {count} x {outcome}");
        }
    }

    private static string Body(string? recipients, int seq, string? extra, string? dataExtra = null)
    {
        var sb = new StringBuilder(160);
        sb.Append('{');
        if (recipients is not null)
        {
            sb.Append(recipients).Append(',');
        }
        sb.Append("\"title\":\"load test\",\"ttlSeconds\":3600,");
        if (extra is not null)
        {
            sb.Append(extra).Append(',');
        }
        sb.Append("\"data\":{");
        if (dataExtra is not null)
        {
            sb.Append(dataExtra).Append(',');
        }
        sb.Append("\"seq\":").Append(seq.ToString(CultureInfo.InvariantCulture))
          .Append(",\"sentAt\":").Append(Stopwatch.GetTimestamp().ToString(CultureInfo.InvariantCulture)).Append("}}");
        return sb.ToString();
    }

    private async Task<bool> PostAsync(string path, AuthenticationHeaderValue auth, string body, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8) };
            request.Content.Headers.ContentType = Json;
            request.Headers.Authorization = auth;
            using var response = await _http.SendAsync(request, cancellationToken);
            AnswerTimes.RecordSince(start);
            Count(((int)response.StatusCode).ToString(CultureInfo.InvariantCulture));
            if (response.IsSuccessStatusCode)
            {
                Interlocked.Increment(ref _ok);
                return true;
            }
            if (response.StatusCode == HttpStatusCode.TooManyRequests && Interlocked.Increment(ref _rateLimited) == 1)
            {
                Console.Error.WriteLine("WARNING: the server answers 429: its rate limit is on (run it with " + Servers.ServerLauncher.RateLimitsOff + ")");
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false; // the run stopped sending: neither answered nor failed
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
        {
            Count(ex is TaskCanceledException ? "timeout" : ex.GetType().Name + " " + (ex.InnerException?.GetType().Name ?? ""));
        }
        Interlocked.Increment(ref _failed);
        return false;
    }

    private void Count(string outcome) => _outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);

    public void Dispose() => _http.Dispose();
}
