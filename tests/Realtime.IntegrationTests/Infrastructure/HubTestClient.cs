using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using MessageType = Realtime.IntegrationTests.Infrastructure.HubJsonProtocol.MessageType;

namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>
/// A minimal SignalR client for tests: JSON hub protocol over a raw <see cref="ClientWebSocket"/>, connecting
/// directly to the hub (no negotiate). One background loop receives; sends are serialized; a keep-alive ping goes
/// out every <see cref="KeepAliveInterval"/>. Every wait is bounded by <see cref="DefaultTimeout"/> unless told
/// otherwise. Thread-safe.
/// </summary>
/// <remarks>
/// Received invocations are kept in wire order: <see cref="Received"/> is the full log, while
/// <see cref="NextAsync"/> and <see cref="WaitForAsync"/> consume them one at a time (each at most once), so a test
/// can read them as a stream.
/// </remarks>
public sealed class HubTestClient : IAsyncDisposable
{
    private const int ReceiveBufferSize = 16 * 1024;

    private static readonly TimeSpan CloseMessageGracePeriod = TimeSpan.FromSeconds(5);

    private readonly ClientWebSocket _socket;
    private readonly RecordSeparatorFramer _framer;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly CancellationTokenSource _receiveCancellation = new();
    private readonly PeriodicTimer _keepAliveTimer;
    private readonly HubInbox _inbox = new();
    private readonly Lock _pendingGate = new();
    private readonly Dictionary<string, PendingInvocation> _pendingInvocations = []; // guarded by _pendingGate
    private readonly ConcurrentQueue<JsonElement> _otherMessages = new();
    private readonly TaskCompletionSource<HubCloseInfo> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _receiveLoop;
    private readonly Task _keepAliveLoop;
    private HubCloseInfo? _closeInfo; // set once, under _pendingGate, before Closed completes
    private long _nextInvocationId;
    private int _disposed;

    private HubTestClient(ClientWebSocket socket, RecordSeparatorFramer framer, TimeSpan defaultTimeout)
    {
        _socket = socket;
        _framer = framer;
        DefaultTimeout = defaultTimeout;
        _keepAliveTimer = new PeriodicTimer(TimeSpan.FromSeconds(15));
        _receiveLoop = Task.Run(ReceiveLoopAsync);
        _keepAliveLoop = Task.Run(KeepAliveLoopAsync);
    }

    /// <summary>
    /// Bound for sends, invocations, closing, and the default for <see cref="WaitForAsync"/>/<see cref="NextAsync"/>.
    /// 10 s by default (<see cref="ConnectAsync"/> always allows 10 s).
    /// </summary>
    public TimeSpan DefaultTimeout { get; set; }

    /// <summary>
    /// How often a ping is sent (15 s by default; the server drops clients silent for 30 s). One ping is also sent
    /// right after the handshake. <see cref="Timeout.InfiniteTimeSpan"/> stops pinging.
    /// </summary>
    public TimeSpan KeepAliveInterval
    {
        get => _keepAliveTimer.Period;
        set
        {
            try
            {
                _keepAliveTimer.Period = value;
            }
            catch (ObjectDisposedException)
            {
                // Connection already over; nothing left to keep alive.
            }
        }
    }

    /// <summary>Snapshot of every invocation received so far, in wire order (consumed or not).</summary>
    public IReadOnlyList<HubMessage> Received => _inbox.Snapshot();

    /// <summary>
    /// Raw messages this client does not handle, in order: stream items, acks, sequence messages, unknown types
    /// and completions for unknown invocation ids. Pings are not recorded.
    /// </summary>
    public IReadOnlyList<JsonElement> OtherMessages => _otherMessages.ToArray();

    /// <summary>
    /// Completes when the connection is over: the server sent a close message (type 7) or the socket closed.
    /// Never faults.
    /// </summary>
    public Task<HubCloseInfo> Closed => _closed.Task;

    /// <summary>
    /// Opens a WebSocket to <paramref name="path"/> (which may carry a query string) under
    /// <paramref name="serverBaseAddress"/> (http/https is mapped to ws/wss), passing <paramref name="accessToken"/>
    /// as the <c>access_token</c> query parameter, and performs the JSON protocol handshake.
    /// </summary>
    /// <exception cref="HubUpgradeRejectedException">The upgrade got an HTTP status other than 101 (e.g. 401).</exception>
    /// <exception cref="HubHandshakeException">The server answered the handshake with an error or closed.</exception>
    /// <exception cref="TimeoutException">Connecting and handshaking took longer than 10 s.</exception>
    public static async Task<HubTestClient> ConnectAsync(
        Uri serverBaseAddress,
        string? accessToken,
        string path = "/hubs/notifications",
        CancellationToken cancellationToken = default)
    {
        var timeout = TimeSpan.FromSeconds(10);
        var uri = BuildHubUri(serverBaseAddress, path, accessToken);
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.KeepAliveInterval = TimeSpan.Zero; // liveness is the hub protocol's job (pings)

        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            try
            {
                await socket.ConnectAsync(uri, timeoutSource.Token);
            }
            catch (WebSocketException ex) when (socket.HttpStatusCode is not 0 and not HttpStatusCode.SwitchingProtocols)
            {
                throw new HubUpgradeRejectedException(socket.HttpStatusCode, ex);
            }

            var framer = new RecordSeparatorFramer();
            await socket.SendAsync(HubJsonProtocol.HandshakeRequest, WebSocketMessageType.Text, true, timeoutSource.Token);
            await ReadHandshakeResponseAsync(socket, framer, timeoutSource.Token);

            // The ASP.NET Core server only enforces its client timeout once it has seen a ping; ping at once so
            // that "silent for ClientTimeoutInterval => dropped" holds from the start, as for a long-lived client.
            await socket.SendAsync(HubJsonProtocol.Ping, WebSocketMessageType.Text, true, timeoutSource.Token);

            // Bytes after the handshake response stay in the framer: the server may coalesce the response with
            // the first hub messages in a single frame.
            return new HubTestClient(socket, framer, timeout);
        }
        catch (Exception ex)
        {
            socket.Dispose();
            if (ex is OperationCanceledException && timeoutSource.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"Connecting to {uri.GetLeftPart(UriPartial.Path)} took longer than {timeout}.", ex);
            }

            throw;
        }
    }

    /// <summary>
    /// Invokes a hub method and waits for its completion.
    /// </summary>
    /// <returns>
    /// The <c>result</c>. For void methods the ASP.NET Core server sends <c>"result":null</c>
    /// (<see cref="JsonValueKind.Null"/>); a completion without <c>result</c> gives <see cref="JsonValueKind.Undefined"/>.
    /// </returns>
    /// <exception cref="HubInvocationException">The completion carried an <c>error</c>.</exception>
    /// <exception cref="HubConnectionClosedException">The connection closed before the completion arrived.</exception>
    /// <exception cref="TimeoutException">No completion within <see cref="DefaultTimeout"/>.</exception>
    public async Task<JsonElement> InvokeAsync(string target, params object?[] arguments)
    {
        var invocationId = Interlocked.Increment(ref _nextInvocationId).ToString(CultureInfo.InvariantCulture);
        var pending = new PendingInvocation(target);
        lock (_pendingGate)
        {
            ThrowIfClosed($"Cannot invoke '{target}'.");
            _pendingInvocations.Add(invocationId, pending);
        }

        try
        {
            await SendFrameAsync(HubJsonProtocol.Invocation(invocationId, target, arguments ?? [null]));
            var timeout = DefaultTimeout;
            try
            {
                return await pending.Completion.Task.WaitAsync(timeout);
            }
            catch (TimeoutException ex)
            {
                throw new TimeoutException($"Invocation of '{target}' (id {invocationId}) got no completion within {timeout}.", ex);
            }
        }
        finally
        {
            lock (_pendingGate)
            {
                _pendingInvocations.Remove(invocationId);
            }
        }
    }

    /// <summary>Sends a non-blocking invocation (no invocation id: the server sends no completion).</summary>
    /// <exception cref="HubConnectionClosedException">The connection is already closed.</exception>
    public Task SendAsync(string target, params object?[] arguments)
    {
        ThrowIfClosed($"Cannot send '{target}'.");
        return SendFrameAsync(HubJsonProtocol.Invocation(null, target, arguments ?? [null]));
    }

    /// <summary>
    /// Consumes the oldest not-yet-consumed invocation of <paramref name="target"/> whose first argument matches
    /// <paramref name="predicate"/> (any, when null), waiting for it if needed. Earlier non-matching invocations stay
    /// available to later calls.
    /// </summary>
    /// <param name="target">The client method name, compared case-sensitively.</param>
    /// <param name="predicate">Test on the first argument; runs on the receive loop, so keep it quick.</param>
    /// <param name="timeout">Defaults to <see cref="DefaultTimeout"/>.</param>
    /// <returns>The first argument (<see cref="JsonValueKind.Undefined"/> when the invocation had none).</returns>
    /// <exception cref="TimeoutException">Nothing matched in time; the message lists what was received.</exception>
    /// <exception cref="HubConnectionClosedException">The connection closed and nothing received matches.</exception>
    public async Task<JsonElement> WaitForAsync(string target, Func<JsonElement, bool>? predicate = null, TimeSpan? timeout = null)
    {
        Func<HubMessage, bool>? messagePredicate = predicate is null ? null : m => m.Arguments.Count > 0 && predicate(m.Arguments[0]);
        var message = await _inbox.TakeAsync(target, messagePredicate, timeout ?? DefaultTimeout);
        return message.FirstArgument;
    }

    /// <summary>
    /// Consumes the next not-yet-consumed invocation of <paramref name="target"/>, in wire order, waiting for it if
    /// needed. Shares its notion of "consumed" with <see cref="WaitForAsync"/>.
    /// </summary>
    /// <exception cref="TimeoutException">Nothing arrived in time; the message lists what was received.</exception>
    /// <exception cref="HubConnectionClosedException">The connection closed and nothing received is left.</exception>
    public Task<HubMessage> NextAsync(string target, TimeSpan? timeout = null) =>
        _inbox.TakeAsync(target, null, timeout ?? DefaultTimeout);

    /// <summary>
    /// Closes gracefully: starts the WebSocket close handshake and waits for <see cref="Closed"/>; aborts the socket
    /// if the server does not finish the handshake within <see cref="DefaultTimeout"/>.
    /// </summary>
    public async Task CloseAsync()
    {
        if (!Closed.IsCompleted)
        {
            await TryCloseOutputAsync();
        }

        try
        {
            await Closed.WaitAsync(DefaultTimeout);
        }
        catch (TimeoutException)
        {
            await _receiveCancellation.CancelAsync(); // aborts the socket and ends the receive loop
            await Closed.WaitAsync(DefaultTimeout);
        }
    }

    /// <summary>Closes (see <see cref="CloseAsync"/>) and releases the socket.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await CloseAsync();
        }
        catch (TimeoutException)
        {
            // Disposal must not throw; the socket is aborted below anyway.
        }

        await _receiveCancellation.CancelAsync();
        _keepAliveTimer.Dispose();
        try
        {
            // Both loops handle their own errors; cancellation above ends them promptly.
            await Task.WhenAll(_receiveLoop, _keepAliveLoop).WaitAsync(DefaultTimeout);
        }
        catch (TimeoutException)
        {
            // Leave the remaining resources to the finalizers rather than throw from disposal.
            return;
        }

        _socket.Dispose();
        _receiveCancellation.Dispose();
    }

    private static Uri BuildHubUri(Uri serverBaseAddress, string path, string? accessToken)
    {
        var queryStart = path.IndexOf('?', StringComparison.Ordinal);
        var pathOnly = queryStart < 0 ? path : path[..queryStart];
        var query = queryStart < 0 ? "" : path[(queryStart + 1)..];
        if (accessToken is not null)
        {
            query += (query.Length == 0 ? "" : "&") + "access_token=" + Uri.EscapeDataString(accessToken);
        }

        var builder = new UriBuilder(serverBaseAddress)
        {
            Scheme = serverBaseAddress.Scheme == Uri.UriSchemeHttps || serverBaseAddress.Scheme == Uri.UriSchemeWss ? "wss" : "ws",
            Path = serverBaseAddress.AbsolutePath.TrimEnd('/') + "/" + pathOnly.TrimStart('/'),
            Query = query,
        };
        return builder.Uri;
    }

    private static async Task ReadHandshakeResponseAsync(ClientWebSocket socket, RecordSeparatorFramer framer, CancellationToken cancellationToken)
    {
        var buffer = new byte[ReceiveBufferSize];
        ReadOnlyMemory<byte> response;
        while (!framer.TryReadRecord(out response))
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new HubHandshakeException(
                    $"The server closed the WebSocket ({socket.CloseStatus} {socket.CloseStatusDescription}) before answering the handshake.");
            }

            framer.Append(buffer.AsSpan(0, result.Count));
        }

        try
        {
            using var document = JsonDocument.Parse(response);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new HubHandshakeException($"Unexpected handshake response: {Encoding.UTF8.GetString(response.Span)}");
            }

            if (document.RootElement.TryGetProperty("error", out var error))
            {
                throw new HubHandshakeException($"The server rejected the handshake: {error}");
            }
        }
        catch (JsonException ex)
        {
            throw new HubHandshakeException($"Malformed handshake response: {Encoding.UTF8.GetString(response.Span)}", ex);
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[ReceiveBufferSize];
        var closeMessage = (Received: false, Error: (string?)null, AllowReconnect: false);
        Exception? transportError = null;
        try
        {
            while (true)
            {
                while (_framer.TryReadRecord(out var record))
                {
                    if (Dispatch(record) is { } close && !closeMessage.Received)
                    {
                        // The server closes the socket right after a close message; wait for that, but not forever.
                        closeMessage = (true, close.Error, close.AllowReconnect);
                        _receiveCancellation.CancelAfter(CloseMessageGracePeriod);
                    }
                }

                var result = await _socket.ReceiveAsync(buffer.AsMemory(), _receiveCancellation.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await TryCloseOutputAsync(); // completes the close handshake
                    break;
                }

                _framer.Append(buffer.AsSpan(0, result.Count));
            }
        }
        catch (OperationCanceledException) when (_receiveCancellation.IsCancellationRequested)
        {
            // Disposed, or the server did not close after its close message.
        }
        catch (Exception ex)
        {
            transportError = ex;
            _socket.Abort();
        }
        finally
        {
            var closeInfo = new HubCloseInfo(
                closeMessage.Received,
                closeMessage.Error,
                closeMessage.AllowReconnect,
                _socket.CloseStatus,
                _socket.CloseStatusDescription,
                transportError);
            _keepAliveTimer.Dispose();
            KeyValuePair<string, PendingInvocation>[] orphans;
            lock (_pendingGate)
            {
                _closeInfo = closeInfo;
                orphans = [.. _pendingInvocations];
            }

            foreach (var (id, pending) in orphans)
            {
                pending.Completion.TrySetException(
                    new HubConnectionClosedException($"Invocation of '{pending.Target}' (id {id}) got no completion.", closeInfo));
            }

            _inbox.Complete(closeInfo);
            _closed.TrySetResult(closeInfo); // last: whoever sees Closed sees every wait already failed
        }
    }

    /// <summary>Handles one received message; returns the close details when it is a close message.</summary>
    private (string? Error, bool AllowReconnect)? Dispatch(ReadOnlyMemory<byte> record)
    {
        using var document = JsonDocument.Parse(record);
        var root = document.RootElement;
        var type = root.ValueKind == JsonValueKind.Object
                   && root.TryGetProperty("type", out var typeElement)
                   && typeElement.TryGetInt32(out var value)
            ? value
            : -1;

        switch (type)
        {
            case MessageType.Invocation:
                var arguments = root.TryGetProperty("arguments", out var args) && args.ValueKind == JsonValueKind.Array
                    ? args.EnumerateArray().Select(a => a.Clone()).ToArray()
                    : [];
                _inbox.Add(new HubMessage(
                    root.GetProperty("target").GetString() ?? "",
                    arguments,
                    root.TryGetProperty("invocationId", out var invocationId) ? invocationId.GetString() : null));
                return null;

            case MessageType.Completion when root.TryGetProperty("invocationId", out var id)
                                             && TryGetPending(id.GetString()) is { } pending:
                if (root.TryGetProperty("error", out var error))
                {
                    pending.Completion.TrySetException(new HubInvocationException(pending.Target, error.GetString() ?? ""));
                }
                else
                {
                    pending.Completion.TrySetResult(root.TryGetProperty("result", out var result) ? result.Clone() : default);
                }

                return null;

            case MessageType.Ping:
                return null;

            case MessageType.Close:
                return (
                    root.TryGetProperty("error", out var closeError) ? closeError.GetString() : null,
                    root.TryGetProperty("allowReconnect", out var allow) && allow.ValueKind == JsonValueKind.True);

            default:
                _otherMessages.Enqueue(root.Clone());
                return null;
        }
    }

    private async Task KeepAliveLoopAsync()
    {
        try
        {
            while (await _keepAliveTimer.WaitForNextTickAsync())
            {
                await SendFrameAsync(HubJsonProtocol.Ping);
            }
        }
        catch (Exception)
        {
            // A failed ping means the connection is going away; the receive loop is the one that reports how.
        }
    }

    private async Task SendFrameAsync(ReadOnlyMemory<byte> frame)
    {
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        try
        {
            await _sendLock.WaitAsync(timeout.Token);
            try
            {
                await _socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
            }
            finally
            {
                _sendLock.Release();
            }
        }
        catch (OperationCanceledException ex) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"Sending a message took longer than {DefaultTimeout}.", ex);
        }
    }

    /// <summary>Sends the WebSocket close frame unless one was sent already; failures mean the socket is gone anyway.</summary>
    private async Task TryCloseOutputAsync()
    {
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        try
        {
            await _sendLock.WaitAsync(timeout.Token);
            try
            {
                if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                {
                    await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
                }
            }
            finally
            {
                _sendLock.Release();
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The receive loop reports how the connection ended.
        }
    }

    private PendingInvocation? TryGetPending(string? invocationId)
    {
        lock (_pendingGate)
        {
            return invocationId is not null && _pendingInvocations.TryGetValue(invocationId, out var pending) ? pending : null;
        }
    }

    private void ThrowIfClosed(string message)
    {
        if (Volatile.Read(ref _closeInfo) is { } closeInfo)
        {
            throw new HubConnectionClosedException(message, closeInfo);
        }
    }

    private sealed class PendingInvocation(string target)
    {
        public string Target { get; } = target;

        public TaskCompletionSource<JsonElement> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
