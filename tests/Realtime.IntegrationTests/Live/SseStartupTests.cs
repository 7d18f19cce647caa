using System.Net;
using Npgsql;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Live;

/// <summary>
/// EventSource gives up for good on any answer but 200. A browser reconnecting while a node is
/// still starting (here: its database unreachable at first) must get a stream, not a 503.
/// </summary>
public sealed class SseStartupTests
{
    [Fact]
    public async Task AStreamOpenedWhileTheNodeIsStartingWaitsAndThenWorks()
    {
        await using var database = await TestDatabase.CreateAsync();
        var direct = new NpgsqlConnectionStringBuilder(database.ConnectionString);
        await using var proxy = new TcpProxy(direct.Host!, direct.Port);
        proxy.Start();
        await proxy.StopAsync(); // keeps its port: the node starts against a database it cannot reach yet
        var viaProxy = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port };
        await using var server = await RealtimeServer.StartAsync(viaProxy.ConnectionString, waitUntilReady: false);
        using (var probe = server.CreateApiClient())
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await probe.GetAsync("/health/ready")).StatusCode);
        }

        var user = "starting-" + Guid.NewGuid().ToString("N")[..8];
        var connecting = SseTestClient.ConnectAsync(server.BaseAddress, server.Tokens.User(user), lastEventId: "0");
        proxy.Start();
        await using var stream = await connecting;

        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
        await server.WaitUntilReadyAsync();
        var id = await server.SendAsync(user, "after start-up");
        Assert.Equal(id.ToString(), (await stream.NextAsync("notification")).Id);
    }
}
