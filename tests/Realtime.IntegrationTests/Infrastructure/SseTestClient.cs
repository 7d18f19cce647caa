using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>One Server-Sent Events frame: its event name, id (when given) and data lines joined.</summary>
public sealed record SseEvent(string Event, string? Id, string Data)
{
    public JsonElement Json => JsonDocument.Parse(Data).RootElement.Clone();
}

/// <summary>
/// A test client for <c>/api/notifications/stream</c>: reads the response as it arrives and parses
/// frames per the SSE spec (fields, comments, blank line ends a frame). Every wait is bounded.
/// </summary>
public sealed class SseTestClient : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly HttpClient _http;
    private readonly HttpResponseMessage _response;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<SseEvent> _events = Channel.CreateUnbounded<SseEvent>();
    private readonly List<SseEvent> _all = [];
    private readonly List<string> _comments = [];
    private readonly Task _readLoop;
    private readonly TaskCompletionSource<int> _retry = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private SseTestClient(HttpClient http, HttpResponseMessage response)
    {
        _http = http;
        _response = response;
        _readLoop = Task.Run(ReadLoopAsync);
    }

    public HttpResponseMessage Response => _response;

    /// <summary>Completes when the server ends the stream (or the connection drops).</summary>
    public Task Ended => _readLoop;

    /// <summary>The <c>retry:</c> value the server sent, once read.</summary>
    public Task<int> Retry => _retry.Task;

    /// <summary>Whether any event had arrived when the <c>retry:</c> field was read.</summary>
    public bool RetryCameBeforeAnyEvent { get; private set; }

    public IReadOnlyList<SseEvent> All { get { lock (_all) return _all.ToList(); } }

    public IReadOnlyList<string> Comments { get { lock (_comments) return _comments.ToList(); } }

    /// <summary>Opens the stream. <paramref name="lastEventId"/> goes as the Last-Event-ID header; <paramref name="query"/> is appended as is.</summary>
    public static async Task<SseTestClient> ConnectAsync(Uri baseAddress, string? bearerToken, string? lastEventId = null, string query = "")
    {
        var http = new HttpClient { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/notifications/stream" + query);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (bearerToken is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearerToken);
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        return new SseTestClient(http, response);
    }

    /// <summary>The next event of any kind, in wire order.</summary>
    public async Task<SseEvent> NextAsync(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            return await _events.Reader.ReadAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No SSE event within {timeout ?? DefaultTimeout}; received so far: {string.Join(" | ", All.Select(e => e.Event + ":" + e.Id))}");
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"The stream ended; received: {string.Join(" | ", All.Select(e => e.Event + ":" + e.Id))}");
        }
    }

    /// <summary>The next event named <paramref name="name"/> (others before it are passed over).</summary>
    public async Task<SseEvent> NextAsync(string name, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (true)
        {
            var remaining = deadline - DateTime.UtcNow;
            var next = await NextAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.FromMilliseconds(1));
            if (next.Event == name)
            {
                return next;
            }
        }
    }

    public IReadOnlyList<long> NotificationIds() =>
        All.Where(e => e.Event == "notification").Select(e => long.Parse(e.Id!, System.Globalization.CultureInfo.InvariantCulture)).ToList();

    private async Task ReadLoopAsync()
    {
        try
        {
            if (_response.StatusCode != HttpStatusCode.OK)
            {
                return;
            }
            await using var stream = await _response.Content.ReadAsStreamAsync(_stop.Token);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            string? eventName = null, id = null;
            var data = new StringBuilder();
            var hasData = false;
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                if (line.Length == 0)
                {
                    if (hasData || eventName is not null)
                    {
                        var frame = new SseEvent(eventName ?? "message", id, data.ToString());
                        lock (_all) _all.Add(frame);
                        _events.Writer.TryWrite(frame);
                    }
                    eventName = null;
                    id = null;
                    data.Clear();
                    hasData = false;
                    continue;
                }
                if (line[0] == ':')
                {
                    lock (_comments) _comments.Add(line[1..].Trim());
                    continue;
                }
                var colon = line.IndexOf(':');
                var field = colon < 0 ? line : line[..colon];
                var value = colon < 0 ? "" : line[(colon + 1)..].TrimStart(' ');
                switch (field)
                {
                    case "event": eventName = value; break;
                    case "id": id = value; break;
                    case "retry":
                        RetryCameBeforeAnyEvent = All.Count == 0;
                        _retry.TrySetResult(int.Parse(value, System.Globalization.CultureInfo.InvariantCulture));
                        break;
                    case "data":
                        if (hasData) data.Append('\n');
                        data.Append(value);
                        hasData = true;
                        break;
                }
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
        catch (IOException)
        {
        }
        catch (HttpRequestException)
        {
        }
        finally
        {
            _events.Writer.TryComplete();
            _retry.TrySetException(new InvalidOperationException("The stream ended without a retry field."));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _response.Dispose();
        try
        {
            await _readLoop.WaitAsync(DefaultTimeout);
        }
        catch (Exception)
        {
        }
        _http.Dispose();
        _stop.Dispose();
    }
}
