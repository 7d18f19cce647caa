using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Realtime.IntegrationTests.Infrastructure;
using MessageType = Realtime.IntegrationTests.Infrastructure.HubJsonProtocol.MessageType;

namespace Realtime.IntegrationTests.ScaleOut;

/// <summary>
/// The official SignalR flow without WebSockets, as @microsoft/signalr runs it when it falls back to
/// long polling: <c>POST {hub}/negotiate?negotiateVersion=1</c>, then every request on
/// <c>{hub}?id={connectionToken}</c>: GET polls (the first returns at once, empty), POST sends (the JSON
/// protocol handshake first), DELETE ends the connection. Every request carries the bearer token.
/// Just enough for tests; every wait is bounded.
/// </summary>
internal sealed class LongPollingHubClient : IAsyncDisposable
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly HttpClient _http;
    private readonly string _connectionUrl;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<HubMessage> _received = [];
    private readonly Dictionary<string, TaskCompletionSource<JsonElement>> _pending = [];
    private readonly TaskCompletionSource<string> _handshake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly RecordSeparatorFramer _framer = new();
    private Task _pollLoop = Task.CompletedTask;
    private int _polls;
    private int _nextInvocationId;

    private LongPollingHubClient(HttpClient http, string hubPath, JsonElement negotiation)
    {
        _http = http;
        Negotiation = negotiation;
        _connectionUrl = $"{hubPath}?id={Uri.EscapeDataString(negotiation.GetProperty("connectionToken").GetString()!)}";
    }

    /// <summary>The negotiate response.</summary>
    public JsonElement Negotiation { get; }

    /// <summary>How many polls have completed.</summary>
    public int Polls => Volatile.Read(ref _polls);

    /// <summary>Completes with the reason when the connection is over (204 to a poll, an error status, a close message).</summary>
    public Task<string> Closed => _closed.Task;

    public IReadOnlyList<HubMessage> Received
    {
        get { lock (_gate) return _received.ToList(); }
    }

    /// <summary>Negotiates, starts polling and performs the JSON protocol handshake.</summary>
    public static async Task<LongPollingHubClient> ConnectAsync(Uri baseAddress, string accessToken, string hubPath = "/hubs/notifications")
    {
        var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(120) }; // a poll may last 90 s
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        var negotiate = await http.PostAsync($"{hubPath}/negotiate?negotiateVersion=1", content: null, timeout.Token);
        var body = await negotiate.Content.ReadAsStringAsync(timeout.Token);
        Assert.True(negotiate.StatusCode == HttpStatusCode.OK, $"negotiate answered {(int)negotiate.StatusCode}: {body}");
        var negotiation = JsonDocument.Parse(body).RootElement.Clone();
        Assert.False(negotiation.TryGetProperty("error", out var error), $"negotiate refused: {error}");

        var client = new LongPollingHubClient(http, hubPath, negotiation);
        client._pollLoop = Task.Run(client.PollLoopAsync);
        var handshake = await client.PostAsync(HubJsonProtocol.HandshakeRequest);
        Assert.True(handshake == HttpStatusCode.OK, $"the handshake POST answered {(int)handshake}");
        var response = await client._handshake.Task.WaitAsync(DefaultTimeout);
        Assert.True(response == "{}", $"handshake response: {response}");
        return client;
    }

    /// <summary>Invokes a hub method (POST) and waits for its completion (from a poll).</summary>
    public async Task<JsonElement> InvokeAsync(string target, params object?[] arguments)
    {
        var id = Interlocked.Increment(ref _nextInvocationId).ToString(CultureInfo.InvariantCulture);
        var completion = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _pending[id] = completion;
        }
        var status = await PostAsync(HubJsonProtocol.Invocation(id, target, arguments));
        Assert.True(status == HttpStatusCode.OK, $"the POST invoking {target} answered {(int)status}");
        return await completion.Task.WaitAsync(DefaultTimeout);
    }

    /// <summary>Waits (bounded polling) for an invocation of <paramref name="target"/> whose first argument matches.</summary>
    public async Task<JsonElement> WaitForAsync(string target, Func<JsonElement, bool> predicate, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var found = Received.FirstOrDefault(m => m.Target == target && predicate(m.FirstArgument));
            if (found is not null)
            {
                return found.FirstArgument;
            }
            if (Closed.IsCompleted)
            {
                Assert.Fail($"The long-polling connection closed ({Closed.Result}) without a matching '{target}'; received: {string.Join(" | ", Received)}");
            }
            if (clock.Elapsed > (timeout ?? DefaultTimeout))
            {
                Assert.Fail($"No matching '{target}' within {timeout ?? DefaultTimeout} after {Polls} polls; received: {string.Join(" | ", Received)}");
            }
            await Task.Delay(Eventually.PollInterval);
        }
    }

    /// <summary>Ends the connection (DELETE) and stops polling.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(DefaultTimeout);
            await _http.DeleteAsync(_connectionUrl, timeout.Token);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
        }
        await _stop.CancelAsync();
        try
        {
            await _pollLoop.WaitAsync(DefaultTimeout);
        }
        catch (Exception)
        {
            // Disposal must not throw.
        }
        _http.Dispose();
        _stop.Dispose();
    }

    private async Task<HttpStatusCode> PostAsync(byte[] frame)
    {
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        using var content = new ByteArrayContent(frame);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        var response = await _http.PostAsync(_connectionUrl, content, timeout.Token);
        return response.StatusCode;
    }

    private async Task PollLoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                using var response = await _http.GetAsync(_connectionUrl, _stop.Token);
                var bytes = await response.Content.ReadAsByteArrayAsync(_stop.Token);
                Interlocked.Increment(ref _polls);
                if (response.StatusCode == HttpStatusCode.NoContent)
                {
                    _closed.TrySetResult("the server ended the connection (204)");
                    return;
                }
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    _closed.TrySetResult($"a poll answered {(int)response.StatusCode}: {Encoding.UTF8.GetString(bytes)}");
                    return;
                }
                _framer.Append(bytes);
                while (_framer.TryReadRecord(out var record))
                {
                    if (Dispatch(record) is { } closeReason)
                    {
                        _closed.TrySetResult(closeReason);
                        return;
                    }
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException)
        {
            _closed.TrySetResult($"polling stopped: {ex.Message}");
        }
        finally
        {
            _closed.TrySetResult("polling stopped");
            _handshake.TrySetResult("(no handshake response)");
        }
    }

    /// <summary>Handles one message; returns a reason when it ends the connection.</summary>
    private string? Dispatch(ReadOnlyMemory<byte> record)
    {
        if (!_handshake.Task.IsCompleted)
        {
            _handshake.TrySetResult(Encoding.UTF8.GetString(record.Span));
            return null;
        }
        using var document = JsonDocument.Parse(record);
        var root = document.RootElement;
        switch (root.GetProperty("type").GetInt32())
        {
            case MessageType.Invocation:
                var arguments = root.GetProperty("arguments").EnumerateArray().Select(a => a.Clone()).ToArray();
                lock (_gate)
                {
                    _received.Add(new HubMessage(root.GetProperty("target").GetString()!, arguments));
                }
                return null;
            case MessageType.Completion:
                TaskCompletionSource<JsonElement>? pending;
                lock (_gate)
                {
                    _pending.Remove(root.GetProperty("invocationId").GetString()!, out pending);
                }
                if (root.TryGetProperty("error", out var error))
                {
                    pending?.TrySetException(new HubInvocationException("?", error.GetString() ?? ""));
                }
                else
                {
                    pending?.TrySetResult(root.TryGetProperty("result", out var result) ? result.Clone() : default);
                }
                return null;
            case MessageType.Close:
                return $"close message: {root.GetRawText()}";
            default:
                return null; // pings
        }
    }
}
