using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Realtime.IntegrationTests.Live.SlowConsumer;

/// <summary>
/// A client that connects like a browser and then stops reading for good: a raw TCP socket with a
/// small receive buffer (set before connecting, so the TCP window stays small), used only to open
/// the hub WebSocket or the SSE stream. Everything the server sends afterwards piles up on the
/// server's side, as with a frozen tab or a phone that went into a tunnel.
/// </summary>
internal sealed class StuckClient : IDisposable
{
    private const int ReceiveBufferBytes = 4096;
    private const byte RecordSeparator = 0x1E;
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[ReceiveBufferBytes];
    private readonly List<byte> _messageBytes = []; // WebSocket payload bytes not yet split into hub messages
    private int _start, _end; // socket bytes received but not yet consumed

    private StuckClient(Socket socket) => _socket = socket;

    /// <summary>
    /// Upgrades <c>/hubs/notifications</c> to a WebSocket by hand, does the JSON hub handshake, calls
    /// <c>Resume(afterId)</c> and reads up to its completion; then never reads again.
    /// </summary>
    public static Task<StuckClient> ConnectHubAsync(Uri baseAddress, string accessToken, long afterId) =>
        ConnectAsync(baseAddress, async (client, ct) =>
        {
            var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
            await client.SendTextAsync(
                $"GET /hubs/notifications?access_token={Uri.EscapeDataString(accessToken)} HTTP/1.1\r\n" +
                $"Host: {baseAddress.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n", ct);
            await client.ReadHeadersAsync("101", ct);

            await client.SendWebSocketTextAsync("""{"protocol":"json","version":1}"""u8.ToArray(), ct);
            var handshake = await client.ReadHubRecordAsync(ct);
            if (handshake.TryGetProperty("error", out var error))
            {
                throw new InvalidOperationException($"The hub refused the handshake: {error}");
            }

            await client.SendWebSocketTextAsync(Encoding.UTF8.GetBytes(
                $$"""{"type":1,"invocationId":"resume","target":"Resume","arguments":[{{afterId}}]}"""), ct);
            while (true) // skip the replay and unreadCount that come before the completion
            {
                var record = await client.ReadHubRecordAsync(ct);
                if (record.GetProperty("type").GetInt32() == 3 && record.GetProperty("invocationId").GetString() == "resume")
                {
                    if (record.TryGetProperty("error", out var resumeError))
                    {
                        throw new InvalidOperationException($"Resume failed: {resumeError}");
                    }
                    return;
                }
            }
        });

    /// <summary>Opens <c>/api/notifications/stream</c> (live from now), reads the headers and the <c>retry:</c> preamble; then never reads again.</summary>
    public static Task<StuckClient> ConnectSseAsync(Uri baseAddress, string bearerToken) =>
        ConnectAsync(baseAddress, async (client, ct) =>
        {
            await client.SendTextAsync(
                $"GET /api/notifications/stream HTTP/1.1\r\nHost: {baseAddress.Authority}\r\n" +
                $"Authorization: Bearer {bearerToken}\r\nAccept: text/event-stream\r\n\r\n", ct);
            await client.ReadHeadersAsync("200", ct);
            var body = new StringBuilder(); // chunked; the preamble fits in one chunk
            while (true)
            {
                body.Append(Encoding.UTF8.GetString(client._buffer, client._start, client._end - client._start));
                client._start = client._end;
                if (body.ToString().Contains("retry: 3000\n\n", StringComparison.Ordinal))
                {
                    return;
                }
                await client.FillAsync(ct);
            }
        });

    public void Dispose() => _socket.Dispose();

    private static async Task<StuckClient> ConnectAsync(Uri baseAddress, Func<StuckClient, CancellationToken, Task> open)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
        {
            ReceiveBufferSize = ReceiveBufferBytes,
            NoDelay = true,
        };
        var client = new StuckClient(socket);
        using var timeout = new CancellationTokenSource(ConnectTimeout);
        try
        {
            await socket.ConnectAsync(baseAddress.Host, baseAddress.Port, timeout.Token);
            await open(client, timeout.Token);
            return client;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task SendTextAsync(string text, CancellationToken ct) =>
        await _socket.SendAsync(Encoding.ASCII.GetBytes(text), SocketFlags.None, ct);

    /// <summary>One masked, final text frame (clients must mask, RFC 6455 §5.3), the payload followed by the record separator.</summary>
    private async Task SendWebSocketTextAsync(byte[] message, CancellationToken ct)
    {
        var length = message.Length + 1;
        var header = length < 126 ? new byte[] { 0x81, (byte)(0x80 | length) } : [0x81, 0x80 | 126, (byte)(length >> 8), (byte)length];
        var mask = RandomNumberGenerator.GetBytes(4);
        var frame = new byte[header.Length + 4 + length];
        header.CopyTo(frame, 0);
        mask.CopyTo(frame, header.Length);
        var payloadStart = header.Length + 4;
        for (var i = 0; i < length; i++)
        {
            var b = i < message.Length ? message[i] : RecordSeparator;
            frame[payloadStart + i] = (byte)(b ^ mask[i % 4]);
        }
        await _socket.SendAsync(frame, SocketFlags.None, ct);
    }

    /// <summary>Reads the HTTP response head and checks its status; body bytes after it stay buffered.</summary>
    private async Task ReadHeadersAsync(string expectedStatus, CancellationToken ct)
    {
        var head = new List<byte>();
        while (head.Count < 4 || head[^4] != '\r' || head[^3] != '\n' || head[^2] != '\r' || head[^1] != '\n')
        {
            head.Add(await ReadByteAsync(ct));
        }
        var text = Encoding.ASCII.GetString(head.ToArray());
        if (!text.StartsWith($"HTTP/1.1 {expectedStatus} ", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"Expected HTTP {expectedStatus}, got: {text.Split("\r\n")[0]}");
        }
    }

    /// <summary>Reads WebSocket frames (unmasked from a server) until one whole hub message (up to 0x1E) has arrived.</summary>
    private async Task<JsonElement> ReadHubRecordAsync(CancellationToken ct)
    {
        int separator;
        while ((separator = _messageBytes.IndexOf(RecordSeparator)) < 0)
        {
            var opcode = await ReadByteAsync(ct) & 0x0F;
            long length = await ReadByteAsync(ct) & 0x7F;
            var lengthBytes = length switch { 126 => 2, 127 => 8, _ => 0 };
            if (lengthBytes > 0)
            {
                length = 0;
                for (var i = 0; i < lengthBytes; i++)
                {
                    length = (length << 8) | await ReadByteAsync(ct);
                }
            }
            var payload = new byte[length];
            for (var i = 0; i < length; i++)
            {
                payload[i] = await ReadByteAsync(ct);
            }
            switch (opcode)
            {
                case 0x8:
                    throw new InvalidOperationException("The server closed the WebSocket during the handshake.");
                case 0x0 or 0x1 or 0x2: // data (one frame may hold several hub messages, or part of one)
                    _messageBytes.AddRange(payload);
                    break;
            }
        }
        var record = _messageBytes.GetRange(0, separator).ToArray();
        _messageBytes.RemoveRange(0, separator + 1);
        return JsonDocument.Parse(record).RootElement.Clone();
    }

    private async ValueTask<byte> ReadByteAsync(CancellationToken ct)
    {
        if (_start == _end)
        {
            await FillAsync(ct);
        }
        return _buffer[_start++];
    }

    private async Task FillAsync(CancellationToken ct)
    {
        _start = 0;
        _end = await _socket.ReceiveAsync(_buffer, SocketFlags.None, ct);
        if (_end == 0)
        {
            throw new InvalidOperationException("The server closed the connection during the handshake.");
        }
    }
}
