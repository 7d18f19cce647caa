using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Live;

/// <summary>The official .NET SignalR client on every transport the hub offers: the same replay and live delivery on each.</summary>
public sealed class HubTransportTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RealtimeServer Server => fixture.Server;

    [Theory]
    [InlineData(HttpTransportType.WebSockets, true)]
    [InlineData(HttpTransportType.WebSockets, false)]
    [InlineData(HttpTransportType.ServerSentEvents, false)]
    [InlineData(HttpTransportType.LongPolling, false)]
    public async Task EachTransportReplaysOnResumeThenDeliversLiveInIdOrder(HttpTransportType transport, bool skipNegotiation)
    {
        var user = $"transport-{transport}-{Guid.NewGuid():N}"[..40];
        var missed = await Server.SendAsync(user, "missed");
        await using var hub = await HubClient.ConnectAsync(Server.BaseAddress, Server.Tokens.User(user), transport, skipNegotiation);

        Assert.Equal(1, (await hub.InvokeAsync("Resume", 0)).GetInt32());
        var live = await Server.SendAsync(user, "live");

        Assert.Equal(missed, (await hub.NextAsync("notification")).Argument.GetProperty("id").GetInt64());
        Assert.Equal(live, (await hub.NextAsync("notification")).Argument.GetProperty("id").GetInt64());
        Assert.Equal(HubConnectionState.Connected, hub.Connection.State);
    }
}
