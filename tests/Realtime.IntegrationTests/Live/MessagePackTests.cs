using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Observability;

namespace Realtime.IntegrationTests.Live;

/// <summary>The MessagePack hub protocol beside JSON, with the official .NET client.</summary>
public sealed class MessagePackTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private RealtimeServer Server => fixture.Server;

    [Fact]
    public async Task AMessagePackClientAndAJsonClientOfTheSameUserReceiveIdenticalNotifications()
    {
        var user = $"msgpack-{Guid.NewGuid():N}";
        await using var packed = await PackedClient.ConnectAsync(Server, user);
        await using var json = await Server.ConnectHubAsync(Server.Tokens.User(user));
        Assert.Equal(0, await packed.Connection.InvokeAsync<int>("Resume", 0L));
        await json.InvokeAsync("Resume", 0);

        var id = await Server.SendAsync(user, "Packed", new
        {
            body = "Über — ✓",
            link = "https://shop.example/o/1",
            ttlSeconds = 3600,
            collapseKey = "order-1",
            data = new { orderId = "1", count = 3, ratio = 0.25, big = 9007199254740993, flag = true, none = (object?)null, tags = new object[] { "a", 2, new { deep = "x" } } },
        });

        var fromJson = JsonNode.Parse((await json.WaitForAsync("notification")).GetRawText());
        var fromPack = Normalise(await packed.NextNotificationAsync());
        Assert.True(JsonNode.DeepEquals(fromJson, fromPack), $"JSON: {fromJson?.ToJsonString()}\nMessagePack: {fromPack?.ToJsonString()}");
        Assert.Equal(id, fromPack!["id"]!.GetValue<long>());
        // Timestamps are the same ISO 8601 strings, data a nested map.
        Assert.Equal(JsonValueKind.String, fromPack["createdAt"]!.GetValueKind());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", fromPack["createdAt"]!.GetValue<string>());
        Assert.Equal(JsonValueKind.Object, fromPack["data"]!.GetValueKind());
        Assert.Equal("order-1", fromPack["collapseKey"]!.GetValue<string>());
    }

    [Fact]
    public async Task EachPayloadIsEncodedForMessagePackOnceOnTheNodeNotOncePerConnection()
    {
        const int Connections = 4, Notifications = 5;
        var user = $"msgpack-once-{Guid.NewGuid():N}";
        var clients = new List<PackedClient>();
        try
        {
            for (var i = 0; i < Connections; i++)
            {
                var client = await PackedClient.ConnectAsync(Server, user);
                clients.Add(client);
                await client.Connection.InvokeAsync<int>("Resume", 0L);
            }
            using var encodings = new EncodingCounter(Server.Services.GetRequiredService<RealtimeMetrics>().Meter);

            for (var i = 0; i < Notifications; i++)
            {
                await Server.SendAsync(user, $"once {i}");
            }
            foreach (var client in clients)
            {
                for (var i = 0; i < Notifications; i++)
                {
                    await client.NextNotificationAsync();
                }
            }

            // Each notification once, plus the user's unread-count events (one payload shared by the
            // user's connections, at most one per notification). Per connection it would be at least 20.
            Assert.InRange(encodings.Count, Notifications, 2 * Notifications);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    /// <summary>What the official client's MessagePack reader makes of a map, as JSON, for comparison.</summary>
    private static JsonNode? Normalise(object? value) => value switch
    {
        null => null,
        IDictionary<object, object?> map => new JsonObject(map.Select(p => KeyValuePair.Create((string)p.Key, Normalise(p.Value)))),
        object?[] items => new JsonArray(items.Select(Normalise).ToArray()),
        string text => JsonValue.Create(text),
        bool flag => JsonValue.Create(flag),
        double number => JsonValue.Create(number),
        float number => JsonValue.Create((double)number),
        ulong number => JsonValue.Create(number),
        _ => JsonValue.Create(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)),
    };

    private sealed class EncodingCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _count;

        public EncodingCounter(Meter meter)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter, meter) && instrument.Name == "realtime.hub.payload_encodings")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _count, value));
            _listener.Start();
        }

        public long Count => Interlocked.Read(ref _count);

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>The official client with <c>AddMessagePackProtocol()</c>, over a WebSocket.</summary>
    private sealed class PackedClient : IAsyncDisposable
    {
        private readonly Channel<object?> _notifications = Channel.CreateUnbounded<object?>();

        private PackedClient()
        {
        }

        public HubConnection Connection { get; private set; } = null!;

        public static async Task<PackedClient> ConnectAsync(RealtimeServer server, string user)
        {
            var client = new PackedClient();
            client.Connection = await MessagePackHub.ConnectAsync(server, user,
                connection => connection.On("notification", [typeof(object)], arguments => client._notifications.Writer.WriteAsync(arguments[0]).AsTask()), Timeout);
            return client;
        }

        public async Task<object?> NextNotificationAsync()
        {
            using var timeout = new CancellationTokenSource(Timeout);
            return await _notifications.Reader.ReadAsync(timeout.Token);
        }

        public ValueTask DisposeAsync() => Connection.DisposeAsync();
    }
}
