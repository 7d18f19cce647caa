using System.Net;
using System.Net.WebSockets;
using System.Text.Json;

namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>An invocation received from the server (message type 1), with its arguments cloned.</summary>
/// <param name="Target">The client method the server invoked, e.g. <c>tick</c>.</param>
/// <param name="Arguments">The invocation arguments, in order.</param>
/// <param name="InvocationId">Set only when the server expects a client result (this client never sends one).</param>
public sealed record HubMessage(string Target, IReadOnlyList<JsonElement> Arguments, string? InvocationId = null)
{
    /// <summary>The first argument, or an <see cref="JsonValueKind.Undefined"/> element when there is none.</summary>
    public JsonElement FirstArgument => Arguments.Count > 0 ? Arguments[0] : default;

    /// <inheritdoc />
    public override string ToString() =>
        $"{Target}({string.Join(", ", Arguments.Select(a => a.GetRawText()))})";
}

/// <summary>How the connection ended.</summary>
/// <param name="CloseMessageReceived">Whether the server sent a hub close message (type 7).</param>
/// <param name="Error">The <c>error</c> of the close message, if any.</param>
/// <param name="AllowReconnect">The <c>allowReconnect</c> of the close message (false when absent).</param>
/// <param name="WebSocketCloseStatus">The WebSocket close status, when the close handshake completed.</param>
/// <param name="WebSocketCloseDescription">The WebSocket close description, when the close handshake completed.</param>
/// <param name="TransportError">The exception that ended the receive loop, when it did not end cleanly.</param>
public sealed record HubCloseInfo(
    bool CloseMessageReceived,
    string? Error,
    bool AllowReconnect,
    WebSocketCloseStatus? WebSocketCloseStatus,
    string? WebSocketCloseDescription,
    Exception? TransportError)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"close message: {(CloseMessageReceived ? $"yes (error: {Error ?? "none"}, allowReconnect: {AllowReconnect})" : "no")}, " +
        $"WebSocket close: {WebSocketCloseStatus?.ToString() ?? "none"} {WebSocketCloseDescription}".TrimEnd() +
        (TransportError is null ? "" : $", transport error: {TransportError.GetType().Name}: {TransportError.Message}");
}

/// <summary>The server answered the hub handshake with an error, or closed before answering.</summary>
public sealed class HubHandshakeException(string message, Exception? innerException = null)
    : Exception(message, innerException);

/// <summary>
/// The HTTP request upgrading to a WebSocket was answered with a non-101 status (e.g. 401 when the access token is
/// missing or invalid). The original <see cref="WebSocketException"/> is the inner exception.
/// </summary>
public sealed class HubUpgradeRejectedException(HttpStatusCode statusCode, WebSocketException innerException)
    : Exception($"The WebSocket upgrade was rejected with HTTP {(int)statusCode} ({statusCode}).", innerException)
{
    /// <summary>The HTTP status of the rejected upgrade.</summary>
    public HttpStatusCode StatusCode { get; } = statusCode;
}

/// <summary>A hub method invoked through <see cref="HubTestClient.InvokeAsync"/> completed with an error.</summary>
public sealed class HubInvocationException(string target, string error)
    : Exception(error)
{
    /// <summary>The hub method that failed.</summary>
    public string Target { get; } = target;
}

/// <summary>The connection closed while (or before) an operation waited on it.</summary>
public sealed class HubConnectionClosedException(string message, HubCloseInfo closeInfo)
    : Exception($"{message} The connection closed ({closeInfo}).", closeInfo.TransportError)
{
    /// <summary>How the connection ended.</summary>
    public HubCloseInfo CloseInfo { get; } = closeInfo;
}
