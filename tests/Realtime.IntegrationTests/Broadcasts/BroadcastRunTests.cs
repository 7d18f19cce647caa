using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR.Client;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Broadcasts;

/// <summary>
/// Broadcasts committed together reach a connection as one run (one write for several
/// notifications). Every transport must still see each broadcast once, in id order, including a
/// connection whose live messages were held back behind its Resume. A database of its own:
/// broadcasts reach everyone.
/// </summary>
public sealed class BroadcastRunTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const int Senders = 8;
    private const int BroadcastsPerSender = 8;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private RealtimeServer Server => fixture.Server;

    private static string NewUser() => "run-" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task ConcurrentBroadcastsReachJsonMessagePackSseAndAResumingConnectionEachOnceInIdOrder()
    {
        await using var json = await Server.ConnectHubAsync(Server.Tokens.User(NewUser()));
        await json.InvokeAsync("Resume", 0);
        await using var packed = await PackedClient.ConnectAsync(Server, NewUser());
        await packed.Connection.InvokeAsync<int>("Resume", 0L);
        await using var stream = await SseTestClient.ConnectAsync(Server.BaseAddress, Server.Tokens.User(NewUser()));
        await stream.Retry.WaitAsync(SseTestClient.DefaultTimeout);
        // Connected but not resumed yet: its live messages are held back until its replay has gone out.
        await using var resuming = await Server.ConnectHubAsync(Server.Tokens.User(NewUser()));

        var burst = await BroadcastConcurrentlyAsync();
        var replayed = await resuming.InvokeAsync("Resume", 0);
        // Last, alone: once a connection has it, everything before it has arrived (ids only go up), duplicates included.
        var marker = await BroadcastAsync("marker");
        List<long> sent = [.. burst, marker];

        Assert.Equal(Senders * BroadcastsPerSender, burst.Count);
        Assert.Equal(sent, await HubIdsUpToAsync(json, marker));
        Assert.Equal(sent, await packed.IdsUpToAsync(marker));
        var streamed = await Eventually.WaitUntilAsync(() => Task.FromResult(stream.NotificationIds()), ids => ids.Contains(marker), Timeout,
            "the marker on the SSE stream", ids => $"{ids.Count} of {sent.Count}");
        Assert.Equal(sent, streamed);
        Assert.Equal(sent, await HubIdsUpToAsync(resuming, marker));
        Assert.InRange(replayed.GetInt32(), 0, burst.Count);
    }

    private async Task<long> BroadcastAsync(string title)
    {
        using var client = Server.CreateApiClient(Server.Tokens.Admin());
        var response = await client.PostAsJsonAsync("/api/broadcasts", new { title });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    private async Task<List<long>> BroadcastConcurrentlyAsync()
    {
        var ids = new ConcurrentBag<long>();
        await Task.WhenAll(Enumerable.Range(0, Senders).Select(sender => Task.Run(async () =>
        {
            using var client = Server.CreateApiClient(Server.Tokens.Admin());
            for (var i = 0; i < BroadcastsPerSender; i++)
            {
                var response = await client.PostAsJsonAsync("/api/broadcasts", new { title = $"b{sender}-{i}" });
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
                ids.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64());
            }
        })));
        return ids.Order().ToList();
    }

    private static async Task<List<long>> HubIdsUpToAsync(HubClient client, long marker)
    {
        await client.WaitForAsync("notification", n => n.GetProperty("id").GetInt64() == marker, Timeout);
        return (await client.ReceivedAsync("notification", 0)).Select(n => n.GetProperty("id").GetInt64()).ToList();
    }

    /// <summary>A MessagePack hub client that keeps the ids of the notifications it gets.</summary>
    private sealed class PackedClient : IAsyncDisposable
    {
        private readonly Channel<long> _ids = Channel.CreateUnbounded<long>();

        private PackedClient()
        {
        }

        public HubConnection Connection { get; private set; } = null!;

        public static async Task<PackedClient> ConnectAsync(RealtimeServer server, string user)
        {
            var client = new PackedClient();
            client.Connection = await MessagePackHub.ConnectAsync(server, user, connection => connection.On("notification", [typeof(Dictionary<object, object>)],
                arguments => client._ids.Writer.WriteAsync(Convert.ToInt64(((Dictionary<object, object>)arguments[0]!)["id"], CultureInfo.InvariantCulture)).AsTask()), Timeout);
            return client;
        }

        /// <summary>Every id received, up to and including <paramref name="marker"/>.</summary>
        public async Task<List<long>> IdsUpToAsync(long marker)
        {
            var ids = new List<long>();
            using var timeout = new CancellationTokenSource(Timeout);
            while (ids.Count == 0 || ids[^1] != marker)
            {
                ids.Add(await _ids.Reader.ReadAsync(timeout.Token));
            }
            return ids;
        }

        public ValueTask DisposeAsync() => Connection.DisposeAsync();
    }
}
