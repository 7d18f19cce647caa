using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;

namespace Realtime.LoadTest.Clients;

/// <summary>
/// Opens a client WebSocket the way a browser does on the wire (a TCP connection, an HTTP/1.1
/// <c>GET</c> with <c>Upgrade: websocket</c> and a random <c>Sec-WebSocket-Key</c>, the <c>101</c> answer
/// and its <c>Sec-WebSocket-Accept</c> checked, then RFC 6455 frames), without an
/// <see cref="HttpMessageInvoker"/> in between: <see cref="ClientWebSocket"/> goes through
/// <see cref="SocketsHttpHandler"/>'s pool, request and header objects for every attempt, which in a
/// reconnect storm is CPU taken from the server on the same cores. Plain <c>ws://</c> only (the
/// load test's targets are on loopback); <see cref="ClientWebSocket"/> stays for <c>wss://</c>.
/// </summary>
internal sealed class WebSocketDialer(IPAddress? local, EndPoint remote)
{
    private const int MaxAnswerBytes = 4096;
    private static readonly byte[] HeaderEnd = "\r\n\r\n"u8.ToArray();

    public async Task<WebSocket> ConnectAsync(Uri url, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (local is not null)
            {
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                socket.Bind(new IPEndPoint(local, 0));
            }
            await socket.ConnectAsync(remote, cancellationToken);
            var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
            var request = Encoding.ASCII.GetBytes(
                $"GET {url.PathAndQuery} HTTP/1.1\r\nHost: {url.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n");
            await socket.SendAsync(request, SocketFlags.None, cancellationToken);
            var answer = await ReceiveAnswerAsync(socket, cancellationToken);
            CheckAnswer(answer, key);
            return WebSocket.CreateFromStream(new NetworkStream(socket, ownsSocket: true),
                new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The answer's status line and headers. The server sends nothing more before the client speaks (SignalR waits for the handshake).</summary>
    private static async Task<string> ReceiveAnswerAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxAnswerBytes];
        var length = 0;
        while (true)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, cancellationToken);
            if (read == 0)
            {
                throw new WebSocketException(WebSocketError.ConnectionClosedPrematurely, "closed before the upgrade answer");
            }
            length += read;
            var end = buffer.AsSpan(0, length).IndexOf(HeaderEnd);
            if (end >= 0)
            {
                if (end + HeaderEnd.Length != length)
                {
                    throw new WebSocketException(WebSocketError.HeaderError, "bytes after the upgrade answer");
                }
                return Encoding.ASCII.GetString(buffer, 0, end);
            }
            if (length == buffer.Length)
            {
                throw new WebSocketException(WebSocketError.HeaderError, "upgrade answer too long");
            }
        }
    }

    private static void CheckAnswer(string answer, string key)
    {
        var lines = answer.Split("\r\n");
        if (!lines[0].StartsWith("HTTP/1.1 101", StringComparison.Ordinal))
        {
            // As ClientWebSocket says it: the status the server answered instead of 101.
            throw new WebSocketException(WebSocketError.NotAWebSocket, $"The server returned status code '{Status(lines[0])}' when status code '101' was expected.");
        }
        var expected = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
        var accept = lines.Skip(1).Select(l => l.Split(':', 2)).FirstOrDefault(p => p.Length == 2 && p[0].Trim().Equals("Sec-WebSocket-Accept", StringComparison.OrdinalIgnoreCase));
        if (accept is null || accept[1].Trim() != expected)
        {
            throw new WebSocketException(WebSocketError.HeaderError, "missing or wrong Sec-WebSocket-Accept");
        }
    }

    private static string Status(string statusLine) => statusLine.Split(' ') is { Length: >= 2 } parts ? parts[1] : statusLine;
}
