using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Live;

public sealed class SmallHubMessagesFixture : ServerFixture
{
    public const int MaxMessageBytes = 4 * 1024;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Live:MaxMessageBytes"] = MaxMessageBytes.ToString() };
}

/// <summary><c>Live__MaxMessageBytes</c> (default 32 KiB): the largest message a hub client may send, with the official client.</summary>
public sealed class HubMessageSizeTests(SmallHubMessagesFixture fixture) : IClassFixture<SmallHubMessagesFixture>
{
    private RealtimeServer Server => fixture.Server;

    [Fact]
    public async Task AMessageWithinTheLimitIsAnsweredAndOneBeyondItClosesTheConnection()
    {
        await using var hub = await Server.ConnectHubAsync(Server.Tokens.User("size-" + Guid.NewGuid().ToString("N")[..8]));

        // Within the limit: read and answered (a wrong argument, so an error), the connection stays.
        var within = new string('x', SmallHubMessagesFixture.MaxMessageBytes - 1024);
        await Assert.ThrowsAsync<HubException>(() => hub.Connection.InvokeAsync<int>("Resume", within));
        Assert.Equal(0, await hub.Connection.InvokeAsync<int>("Resume", 0L));
        Assert.False(hub.Closed.IsCompleted);

        // Beyond it: SignalR closes the connection with an error rather than read it.
        var beyond = new string('x', SmallHubMessagesFixture.MaxMessageBytes + 1024);
        _ = hub.Connection.SendAsync("Resume", beyond);
        var error = await hub.Closed.WaitAsync(HubClient.DefaultTimeout);
        Assert.NotNull(error);
    }
}
