using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Http.Connections.Client;
using Microsoft.AspNetCore.SignalR.Client;

namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>A message the server sent to the client: its target and (only) argument.</summary>
public sealed record HubMessage(string Target, JsonElement Argument)
{
    public override string ToString() => $"{Target}({Argument.GetRawText()})";
}

/// <summary>
/// The official SignalR client (<see cref="HubConnection"/>) on the notifications hub, recording every
/// message the server sends (the contract's client events) in arrival order. <see cref="NextAsync"/>
/// and <see cref="WaitForAsync"/> consume them one at a time, each at most once; every wait is
/// bounded by <see cref="Timeout"/> unless told otherwise.
/// </summary>
public sealed class HubClient : IAsyncDisposable
{
    public const string HubPath = "/hubs/notifications";
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);
    private static readonly string[] ClientEvents = ["notification", "unreadCount", "notificationRead", "notificationDeleted"];
    private const int MaxMessagesInDiagnostics = 20;

    private readonly Lock _gate = new();
    private readonly List<HubMessage> _received = [];
    private readonly List<HubMessage> _unconsumed = [];
    private readonly TaskCompletionSource<Exception?> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private HubClient(HubConnection connection)
    {
        Connection = connection;
        foreach (var target in ClientEvents)
        {
            connection.On(target, [typeof(JsonElement)], (arguments, _) => Add(new HubMessage(target, (JsonElement)arguments[0]!)), this);
        }
        connection.Closed += error =>
        {
            _closed.TrySetResult(error);
            Signal();
            return Task.CompletedTask;
        };
    }

    public HubConnection Connection { get; }

    /// <summary>Bound of invocations and the default of the waits.</summary>
    public TimeSpan Timeout { get; set; } = DefaultTimeout;

    /// <summary>Every message received so far, in arrival order (consumed or not).</summary>
    public IReadOnlyList<HubMessage> Received
    {
        get
        {
            lock (_gate)
            {
                return _received.ToArray();
            }
        }
    }

    /// <summary>Completes (with the error, if any) when the connection is over. Never faults.</summary>
    public Task<Exception?> Closed => _closed.Task;

    /// <summary>
    /// Connects to the hub under <paramref name="baseAddress"/> with <paramref name="accessToken"/> in
    /// the <c>access_token</c> query parameter, as browsers send it (or, with
    /// <paramref name="tokenInHeader"/>, as a bearer header): by default a WebSocket straight to the
    /// hub (skip-negotiation); any other transport negotiates first. A refused WebSocket upgrade
    /// throws <see cref="HttpRequestException"/> with its status code, as a refused negotiation does.
    /// </summary>
    public static async Task<HubClient> ConnectAsync(
        Uri baseAddress,
        string? accessToken,
        HttpTransportType transport = HttpTransportType.WebSockets,
        bool skipNegotiation = true,
        bool tokenInHeader = false,
        Action<HttpConnectionOptions>? configure = null)
    {
        var url = new UriBuilder(new Uri(baseAddress, HubPath));
        if (accessToken is not null && !tokenInHeader)
        {
            url.Query = "access_token=" + Uri.EscapeDataString(accessToken);
        }
        var connection = new HubConnectionBuilder()
            .WithUrl(url.Uri, transport, options =>
            {
                options.SkipNegotiation = skipNegotiation && transport == HttpTransportType.WebSockets;
                options.WebSocketFactory = OpenWebSocketAsync;
                if (accessToken is not null && tokenInHeader)
                {
                    options.Headers["Authorization"] = "Bearer " + accessToken;
                }
                configure?.Invoke(options);
            })
            .Build();
        var client = new HubClient(connection);
        try
        {
            using var timeout = new CancellationTokenSource(DefaultTimeout);
            await connection.StartAsync(timeout.Token);
            return client;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Invokes a hub method and returns its result (<see cref="JsonValueKind.Null"/> for void methods); a hub error throws <see cref="Microsoft.AspNetCore.SignalR.HubException"/>.</summary>
    public async Task<JsonElement> InvokeAsync(string method, params object?[] arguments)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        return await Connection.InvokeCoreAsync<JsonElement>(method, arguments, timeout.Token);
    }

    /// <summary>Consumes the oldest unconsumed <paramref name="target"/> message whose argument matches <paramref name="predicate"/>, waiting for it.</summary>
    public async Task<JsonElement> WaitForAsync(string target, Func<JsonElement, bool>? predicate = null, TimeSpan? timeout = null) =>
        (await TakeAsync(target, predicate, timeout ?? Timeout)).Argument;

    /// <summary>Consumes the next unconsumed <paramref name="target"/> message, in arrival order, waiting for it.</summary>
    public Task<HubMessage> NextAsync(string target, TimeSpan? timeout = null) => TakeAsync(target, null, timeout ?? Timeout);

    /// <summary>
    /// Waits until <paramref name="count"/> <paramref name="target"/> messages have arrived and returns
    /// every one so far. A hub method's result can arrive before the messages it sent are handled
    /// (the client hands invocations to a queue of their own), so a test that counts them waits here.
    /// </summary>
    public async Task<IReadOnlyList<JsonElement>> ReceivedAsync(string target, int count, TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? Timeout);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                var all = _received.Where(m => m.Target == target).Select(m => m.Argument).ToList();
                if (all.Count >= count)
                {
                    return all;
                }
                changed = _changed.Task;
            }
            await WaitForChangeAsync(changed, target, cancel.Token, timeout ?? Timeout);
        }
    }

    /// <summary>
    /// Waits until the last <c>unreadCount</c> this client received says <paramref name="expected"/>
    /// (counts may arrive again or late; the last one is what a client shows).
    /// </summary>
    public Task WaitForLastUnreadCountAsync(int expected, TimeSpan timeout, string what) =>
        Eventually.WaitUntilAsync(
            () => Task.FromResult(Received.LastOrDefault(m => m.Target == "unreadCount")),
            last => last is not null && last.Argument.GetProperty("unreadCount").GetInt32() == expected, timeout,
            what, last => last?.ToString() ?? "none");

    /// <summary>Stops the connection (bounded).</summary>
    public async Task CloseAsync()
    {
        using var timeout = new CancellationTokenSource(Timeout);
        await Connection.StopAsync(timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await CloseAsync();
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
        {
            // Disposal must not throw; DisposeAsync below drops the transport anyway.
        }
        await Connection.DisposeAsync();
    }

    /// <summary>The client's own WebSocket factory, but one that tells the HTTP status of a refused upgrade.</summary>
    private static async ValueTask<WebSocket> OpenWebSocketAsync(WebSocketConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        foreach (var (name, value) in context.Options.Headers)
        {
            socket.Options.SetRequestHeader(name, value);
        }
        try
        {
            await socket.ConnectAsync(context.Uri, cancellationToken);
            return socket;
        }
        catch (WebSocketException ex) when (socket.HttpStatusCode is not 0 and not HttpStatusCode.SwitchingProtocols)
        {
            socket.Dispose();
            throw new HttpRequestException($"The WebSocket upgrade was answered {(int)socket.HttpStatusCode} ({socket.HttpStatusCode}).", ex, socket.HttpStatusCode);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private Task Add(HubMessage message)
    {
        lock (_gate)
        {
            _received.Add(message);
            _unconsumed.Add(message);
        }
        Signal();
        return Task.CompletedTask;
    }

    private void Signal()
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            changed = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
    }

    private async Task<HubMessage> TakeAsync(string target, Func<JsonElement, bool>? predicate, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                var index = _unconsumed.FindIndex(m => m.Target == target && (predicate is null || predicate(m.Argument)));
                if (index >= 0)
                {
                    var found = _unconsumed[index];
                    _unconsumed.RemoveAt(index);
                    return found;
                }
                changed = _changed.Task;
            }
            await WaitForChangeAsync(changed, target, cancel.Token, timeout);
        }
    }

    private async Task WaitForChangeAsync(Task changed, string target, CancellationToken cancel, TimeSpan timeout)
    {
        if (_closed.Task.IsCompleted)
        {
            throw new InvalidOperationException($"No (further) '{target}' can arrive: the connection closed ({_closed.Task.Result?.Message ?? "no error"}). {Describe()}");
        }
        try
        {
            await changed.WaitAsync(cancel);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No matching '{target}' within {timeout.TotalSeconds:0.###} s. {Describe()}");
        }
    }

    private string Describe()
    {
        lock (_gate)
        {
            var text = new StringBuilder($"Received {_received.Count} message(s), {_unconsumed.Count} not yet consumed");
            foreach (var message in _received.TakeLast(MaxMessagesInDiagnostics))
            {
                text.AppendLine().Append("  ").Append(message);
            }
            return text.ToString();
        }
    }
}
