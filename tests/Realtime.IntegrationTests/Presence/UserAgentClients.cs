using System.Net.Http.Headers;
using System.Net.WebSockets;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Presence;

/// <summary>
/// Minimal clients that send a User-Agent (the shared test clients send none): a hub connection
/// over WebSockets (handshake only) and an SSE stream (headers only). Disposing either closes it.
/// </summary>
internal sealed class UserAgentConnection : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly IAsyncDisposable _resource;

    private UserAgentConnection(IAsyncDisposable resource) => _resource = resource;

    public static async Task<UserAgentConnection> OpenHubAsync(RealtimeServer server, string token, string userAgent)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("User-Agent", userAgent);
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        var uri = new UriBuilder(server.BaseAddress) { Scheme = "ws", Path = "/hubs/notifications", Query = "access_token=" + Uri.EscapeDataString(token) }.Uri;
        using var timeout = new CancellationTokenSource(Timeout);
        await socket.ConnectAsync(uri, timeout.Token);
        await socket.SendAsync(HubJsonProtocol.HandshakeRequest, WebSocketMessageType.Text, true, timeout.Token);
        var buffer = new byte[4096];
        var received = await socket.ReceiveAsync(buffer, timeout.Token); // the handshake response ({} and a record separator)
        Assert.Equal(WebSocketMessageType.Text, received.MessageType);
        Assert.StartsWith("{}\u001e", System.Text.Encoding.UTF8.GetString(buffer, 0, received.Count));
        return new UserAgentConnection(new Socket(socket));
    }

    public static async Task<UserAgentConnection> OpenSseAsync(RealtimeServer server, string token, string userAgent)
    {
        var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/notifications/stream");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        using var timeout = new CancellationTokenSource(Timeout);
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        response.EnsureSuccessStatusCode();
        return new UserAgentConnection(new Stream(http, response));
    }

    public ValueTask DisposeAsync() => _resource.DisposeAsync();

    private sealed class Socket(ClientWebSocket socket) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                using var timeout = new CancellationTokenSource(Timeout);
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
            }
            socket.Dispose();
        }
    }

    private sealed class Stream(HttpClient http, HttpResponseMessage response) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            response.Dispose();
            http.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
