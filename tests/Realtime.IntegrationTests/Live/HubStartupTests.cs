using Microsoft.Extensions.Logging;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Live;

/// <summary>
/// A restarted node's clients all reconnect at once. One that arrives while the node is still
/// starting (here: its database unreachable at first) waits for start-up and is then served, so it
/// asks once instead of retrying into a storm of 503s.
/// </summary>
public sealed class HubStartupTests
{
    [Fact]
    public async Task AHubConnectionOpenedWhileTheNodeIsStartingWaitsAndThenWorks()
    {
        await using var node = await StartingNode.StartAsync();
        var server = node.Server;

        var user = "starting-" + Guid.NewGuid().ToString("N")[..8];
        var connecting = server.ConnectHubAsync(server.Tokens.User(user));
        // Two more failed start-up attempts (2 s apart): the connect request has long reached the node.
        var retries = StartupRetries(server);
        await Eventually.WaitUntilAsync(() => StartupRetries(server) >= retries + 2, TimeSpan.FromSeconds(8), "two more start-up retries");
        Assert.False(connecting.IsCompleted, "the connect was answered while the node was still starting");

        node.ReachDatabase();
        await using var hub = await connecting;
        await server.WaitUntilReadyAsync();
        var id = await server.SendAsync(user, "after start-up");
        Assert.Equal(id, (await hub.NextAsync("notification")).Argument.GetProperty("id").GetInt64());
    }

    private static int StartupRetries(RealtimeServer server) =>
        server.Logs.AtLeast(LogLevel.Warning).Count(log => log.Message.StartsWith("PostgreSQL unavailable during start-up", StringComparison.Ordinal));
}
