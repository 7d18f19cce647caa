using Microsoft.AspNetCore.SignalR.Client;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;

namespace Realtime.IntegrationTests.Live;

public sealed class ConnectionCapFixture : ServerFixture
{
    public const int Cap = 3;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Live:MaxConnectionsPerUser"] = Cap.ToString(System.Globalization.CultureInfo.InvariantCulture) };
}

/// <summary>
/// A user holds at most <c>Live__MaxConnectionsPerUser</c> live connections on a node, hub and SSE
/// together; one more closes that user's oldest, and the others keep delivering.
/// </summary>
public sealed class ConnectionCapTests(ConnectionCapFixture fixture) : IClassFixture<ConnectionCapFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task AConnectionBeyondTheCapClosesTheUsersOldestAcrossHubAndSse()
    {
        var server = fixture.Server;
        var user = SendApi.NewUserId("many-tabs");
        var hubClosed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(server.BaseAddress, "/hubs/notifications"), options =>
                options.AccessTokenProvider = () => Task.FromResult<string?>(server.Tokens.User(user)))
            .Build();
        hub.Closed += _ =>
        {
            hubClosed.TrySetResult();
            return Task.CompletedTask;
        };
        await hub.StartAsync().WaitAsync(Timeout);
        await hub.InvokeAsync<int>("Resume", 0L).WaitAsync(Timeout);

        var streams = new List<SseTestClient>();
        try
        {
            for (var i = 0; i < ConnectionCapFixture.Cap; i++)
            {
                streams.Add(await OpenStreamAsync(server, user));
            }
            await hubClosed.Task.WaitAsync(Timeout); // the oldest, a hub connection, made room for the third stream

            streams.Add(await OpenStreamAsync(server, user));
            await streams[0].Ended.WaitAsync(Timeout); // then the oldest stream made room for the fourth

            Assert.All(streams.Skip(1), s => Assert.False(s.Ended.IsCompleted, "a connection within the cap stays open"));
            var id = await server.SendAsync(user, "to every open tab");
            foreach (var stream in streams.Skip(1))
            {
                Assert.Equal(id.ToString(System.Globalization.CultureInfo.InvariantCulture), (await stream.NextAsync("notification")).Id);
            }
        }
        finally
        {
            foreach (var stream in streams)
            {
                await stream.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task OtherUsersAreNotAffectedByOneUsersCap()
    {
        var server = fixture.Server;
        var (greedy, other) = (SendApi.NewUserId("greedy"), SendApi.NewUserId("other"));
        await using var others = await OpenStreamAsync(server, other);
        var streams = new List<SseTestClient>();
        try
        {
            for (var i = 0; i < ConnectionCapFixture.Cap + 2; i++)
            {
                streams.Add(await OpenStreamAsync(server, greedy));
            }
            await streams[1].Ended.WaitAsync(Timeout);

            var id = await server.SendAsync(other, "unaffected");
            Assert.Equal(id.ToString(System.Globalization.CultureInfo.InvariantCulture), (await others.NextAsync("notification")).Id);
        }
        finally
        {
            foreach (var stream in streams)
            {
                await stream.DisposeAsync();
            }
        }
    }

    private static async Task<SseTestClient> OpenStreamAsync(RealtimeServer server, string user)
    {
        var stream = await SseTestClient.ConnectAsync(server.BaseAddress, server.Tokens.User(user));
        await stream.Retry.WaitAsync(Timeout);
        return stream;
    }
}
