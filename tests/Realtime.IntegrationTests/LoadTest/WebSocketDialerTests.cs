using System.Net;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Realtime.Baselines.VanillaSignalR;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.LoadTest.Clients;

namespace Realtime.IntegrationTests.LoadTest;

/// <summary>
/// The light client's own WebSocket opening (<see cref="WebSocketDialer"/>) against a real SignalR hub
/// (the baseline, in-process on loopback): the upgrade is accepted and the hub speaks over it, and a
/// refused upgrade is an error naming the status the server answered.
/// </summary>
public sealed class WebSocketDialerTests : IAsyncLifetime
{
    private WebApplication _hub = null!;
    private Uri _url = null!;

    public async Task InitializeAsync()
    {
        _hub = VanillaSignalRApp.Build(
        [
            "--urls=http://127.0.0.1:0",
            "--Auth:SigningKey=" + TestTokens.DefaultSigningKey,
            "--Auth:Issuer=" + TestTokens.DefaultIssuer,
            "--Auth:Audience=" + TestTokens.DefaultAudience,
        ]);
        await _hub.StartAsync();
        _url = new Uri(_hub.Urls.First());
    }

    [Fact]
    public async Task AnAcceptedUpgradeCarriesTheHubsHandshake()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var token = TestTokens.Default.User("dialer-user");
        using var socket = await Dialer().ConnectAsync(HubUrl("?access_token=" + Uri.EscapeDataString(token)), timeout.Token);

        await socket.SendAsync("{\"protocol\":\"json\",\"version\":1}\u001e"u8.ToArray(), WebSocketMessageType.Text, true, timeout.Token);
        var buffer = new byte[256];
        var answer = await socket.ReceiveAsync(buffer, timeout.Token);

        Assert.Equal(WebSocketState.Open, socket.State);
        Assert.Equal("{}\u001e", Encoding.UTF8.GetString(buffer, 0, answer.Count));
    }

    [Fact]
    public async Task ARefusedUpgradeIsAnErrorNamingTheStatus()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var error = await Assert.ThrowsAsync<WebSocketException>(() => Dialer().ConnectAsync(HubUrl(""), timeout.Token));

        Assert.Contains("'401'", error.Message, StringComparison.Ordinal);
    }

    private WebSocketDialer Dialer() => new(IPAddress.Loopback, new IPEndPoint(IPAddress.Loopback, _url.Port));

    private Uri HubUrl(string query) => new($"ws://127.0.0.1:{_url.Port}/hubs/notifications{query}");

    public async Task DisposeAsync() => await _hub.DisposeAsync();
}
