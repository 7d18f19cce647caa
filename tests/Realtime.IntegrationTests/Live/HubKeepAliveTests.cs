using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Live;

namespace Realtime.IntegrationTests.Live;

/// <summary>A node whose hub and SSE keep-alives come every second, so a client can watch several.</summary>
public sealed class FastHubKeepAliveFixture : ServerFixture
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Live:HubKeepAliveInterval"] = "00:00:01",
        ["Live:SseKeepAliveInterval"] = "00:00:01",
    };
}

/// <summary>
/// The node writes the hub's keep-alive pings itself (<see cref="KeepAliveScheduler"/>), spread over
/// <c>Live:HubKeepAliveInterval</c>: an idle client hears from it at least that often, in its own
/// protocol, and a connection that left is pinged no more.
/// </summary>
public sealed class HubKeepAliveTests(FastHubKeepAliveFixture fixture) : IClassFixture<FastHubKeepAliveFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>A little above the interval: the client closes a connection it heard nothing from for this long.</summary>
    private static readonly TimeSpan ServerTimeout = FastHubKeepAliveFixture.Interval * 2.5;

    private RealtimeServer Server => fixture.Server;

    private KeepAliveScheduler KeepAlives => Server.Services.GetRequiredService<KeepAliveScheduler>();

    private static string NewUser() => "keepalive-" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task IdleOfficialClientsOfBothProtocolsWhoseServerTimeoutIsJustAboveTheIntervalStayConnected()
    {
        var user = NewUser();
        await using var json = await ConnectOfficialAsync(user, messagePack: false);
        await using var packed = await ConnectOfficialAsync(user, messagePack: true);

        // Eight server timeouts' worth of intervals: SignalR's own 15-s pings would have lost both by the third second.
        var watched = Task.Delay(FastHubKeepAliveFixture.Interval * 8);
        var first = await Task.WhenAny(json.Closed, packed.Closed, watched);

        if (first != watched)
        {
            var (which, closed) = json.Closed.IsCompleted ? ("JSON", json.Closed) : ("MessagePack", packed.Closed);
            Assert.Fail($"The {which} client closed: {(await closed)?.Message ?? "no error"}");
        }
        Assert.Equal(HubConnectionState.Connected, json.Connection.State);
        Assert.Equal(HubConnectionState.Connected, packed.Connection.State);
        Assert.Equal(0, await json.Connection.InvokeAsync<int>("Resume", 0L));
        Assert.Equal(0, await packed.Connection.InvokeAsync<int>("Resume", 0L));
    }

    [Theory]
    [InlineData("json")]
    [InlineData("messagepack")]
    public async Task AnIdleWebSocketReceivesValidPingsEveryInterval(string protocol)
    {
        using var socket = await RawHubSocket.ConnectAsync(Server, NewUser(), protocol);

        var pings = 0;
        var started = DateTime.UtcNow;
        using var cancel = new CancellationTokenSource(Timeout);
        while (pings < 4)
        {
            var type = await socket.NextMessageTypeAsync(cancel.Token);
            Assert.Equal(RawHubSocket.PingType, type); // an idle client is sent nothing else
            pings++;
        }

        // Four pings: at least three whole intervals, and nowhere near SignalR's 15 s.
        Assert.InRange(DateTime.UtcNow - started, FastHubKeepAliveFixture.Interval * 2, Timeout);
    }

    [Fact]
    public async Task AConnectionThatClosedLeavesTheWheelAndAStreamThatEndedToo()
    {
        await Eventually.WaitUntilAsync(() => KeepAlives.Hub.Count == 0 && KeepAlives.Sse.Count == 0, Timeout, "no connection left from other tests");
        var user = NewUser();
        var hubs = new List<HubClient>();
        for (var i = 0; i < 5; i++)
        {
            hubs.Add(await Server.ConnectHubAsync(Server.Tokens.User(user)));
        }
        var stream = await SseTestClient.ConnectAsync(Server.BaseAddress, Server.Tokens.User(user));
        await stream.Retry.WaitAsync(Timeout);
        Assert.Equal(5, KeepAlives.Hub.Count);
        await Eventually.WaitUntilAsync(() => KeepAlives.Sse.Count == 1, Timeout, "the stream on the wheel");
        await Eventually.WaitUntilAsync(() => stream.Comments.Contains("ping"), Timeout, "a ping comment on the stream");

        foreach (var hub in hubs)
        {
            await hub.DisposeAsync();
        }
        await stream.DisposeAsync();

        await Eventually.WaitUntilAsync(() => KeepAlives.Hub.Count == 0, Timeout, "every closed hub connection off the wheel");
        await Eventually.WaitUntilAsync(() => KeepAlives.Sse.Count == 0, Timeout, "the ended stream off the wheel");
    }

    private async Task<OfficialClient> ConnectOfficialAsync(string user, bool messagePack)
    {
        var url = new Uri(Server.BaseAddress, HubClient.HubPath + "?access_token=" + Uri.EscapeDataString(Server.Tokens.User(user)));
        var builder = new HubConnectionBuilder().WithUrl(url, HttpTransportType.WebSockets, options => options.SkipNegotiation = true);
        if (messagePack)
        {
            builder.AddMessagePackProtocol();
        }
        var connection = builder.Build();
        connection.ServerTimeout = ServerTimeout;
        connection.KeepAliveInterval = FastHubKeepAliveFixture.Interval; // the client's own pings: below its timeout, as the client requires
        var client = new OfficialClient(connection);
        using var cancel = new CancellationTokenSource(Timeout);
        await connection.StartAsync(cancel.Token);
        return client;
    }

    private sealed class OfficialClient : IAsyncDisposable
    {
        private readonly TaskCompletionSource<Exception?> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public OfficialClient(HubConnection connection)
        {
            Connection = connection;
            connection.Closed += error =>
            {
                _closed.TrySetResult(error);
                return Task.CompletedTask;
            };
        }

        public HubConnection Connection { get; }

        public Task<Exception?> Closed => _closed.Task;

        public ValueTask DisposeAsync() => Connection.DisposeAsync();
    }

    /// <summary>A bare WebSocket on the hub: the handshake, then each message's type, so pings can be counted.</summary>
    private sealed class RawHubSocket : IDisposable
    {
        public const int PingType = 6;
        private const byte RecordSeparator = 0x1e;

        private readonly ClientWebSocket _socket = new();
        private readonly bool _messagePack;
        private readonly List<byte> _pending = [];

        private RawHubSocket(bool messagePack) => _messagePack = messagePack;

        public static async Task<RawHubSocket> ConnectAsync(RealtimeServer server, string user, string protocol)
        {
            var socket = new RawHubSocket(protocol == "messagepack");
            var url = new UriBuilder(new Uri(server.BaseAddress, HubClient.HubPath)) { Scheme = "ws", Query = "access_token=" + Uri.EscapeDataString(server.Tokens.User(user)) };
            using var cancel = new CancellationTokenSource(Timeout);
            await socket._socket.ConnectAsync(url.Uri, cancel.Token);
            var handshake = Encoding.UTF8.GetBytes($$"""{"protocol":"{{protocol}}","version":1}""" + (char)RecordSeparator);
            await socket._socket.SendAsync(handshake, WebSocketMessageType.Text, endOfMessage: true, cancel.Token);
            var answer = await socket.NextJsonRecordAsync(cancel.Token); // the handshake answer is JSON whatever the protocol
            Assert.Equal("{}", answer);
            return socket;
        }

        /// <summary>The next hub message's type (6 is a ping), checked to be a whole, valid message of the protocol.</summary>
        public async Task<int> NextMessageTypeAsync(CancellationToken cancellationToken)
        {
            if (!_messagePack)
            {
                var record = await NextJsonRecordAsync(cancellationToken);
                using var document = System.Text.Json.JsonDocument.Parse(record);
                return document.RootElement.GetProperty("type").GetInt32();
            }
            // Binary: a variable-length size, then the message, a MessagePack array whose first item is its type.
            while (true)
            {
                if (TryReadLengthPrefixed(out var message))
                {
                    Assert.True(message.Length >= 2 && (message[0] & 0xF0) == 0x90, $"not a MessagePack array: {Convert.ToHexString(message)}");
                    if (message[1] == PingType)
                    {
                        Assert.Equal([0x91, PingType], message); // [6]: a ping has nothing else
                    }
                    return message[1];
                }
                await ReceiveAsync(cancellationToken);
            }
        }

        private async Task<string> NextJsonRecordAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                var end = _pending.IndexOf(RecordSeparator);
                if (end >= 0)
                {
                    var record = Encoding.UTF8.GetString(_pending.GetRange(0, end).ToArray());
                    _pending.RemoveRange(0, end + 1);
                    return record;
                }
                await ReceiveAsync(cancellationToken);
            }
        }

        private bool TryReadLengthPrefixed(out byte[] message)
        {
            message = [];
            var length = 0;
            for (var i = 0; i < Math.Min(5, _pending.Count); i++)
            {
                length |= (_pending[i] & 0x7F) << (7 * i);
                if ((_pending[i] & 0x80) == 0)
                {
                    var start = i + 1;
                    if (_pending.Count - start < length)
                    {
                        return false;
                    }
                    message = _pending.GetRange(start, length).ToArray();
                    _pending.RemoveRange(0, start + length);
                    return true;
                }
            }
            return false;
        }

        private async Task ReceiveAsync(CancellationToken cancellationToken)
        {
            var buffer = new byte[4096];
            var result = await _socket.ReceiveAsync(buffer, cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new InvalidOperationException($"The server closed the WebSocket: {result.CloseStatus} {result.CloseStatusDescription}");
            }
            _pending.AddRange(buffer.AsSpan(0, result.Count).ToArray());
        }

        public void Dispose() => _socket.Dispose();
    }
}
