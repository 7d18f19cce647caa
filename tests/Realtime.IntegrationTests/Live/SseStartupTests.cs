using System.Net;
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
        await using var node = await StartingNode.StartAsync();
        var server = node.Server;
        using (var probe = server.CreateApiClient())
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await probe.GetAsync("/health/ready")).StatusCode);
        }

        var user = "starting-" + Guid.NewGuid().ToString("N")[..8];
        var connecting = SseTestClient.ConnectAsync(server.BaseAddress, server.Tokens.User(user), lastEventId: "0");
        node.ReachDatabase();
        await using var stream = await connecting;

        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
        await server.WaitUntilReadyAsync();
        var id = await server.SendAsync(user, "after start-up");
        Assert.Equal(id.ToString(), (await stream.NextAsync("notification")).Id);
    }
}
