using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.ScaleOut;

/// <summary>One node behind Debian's nginx, configured with the repository's deploy/nginx files.</summary>
public sealed class SingleNodeNginxFixture : ServerFixture, IAsyncLifetime
{
    public NginxProcess Nginx { get; private set; } = null!;

    async Task IAsyncLifetime.InitializeAsync()
    {
        await InitializeAsync();
        Nginx = await NginxProcess.StartAsync(Server.BaseAddress);
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await Nginx.DisposeAsync();
        await DisposeAsync();
    }
}

/// <summary>
/// The deployment's nginx writes no token into its access log: neither a JWT in
/// <c>?access_token=</c> nor a SignalR connection token in <c>?id=</c> (either lets its holder act as the user).
/// </summary>
public sealed class NginxAccessLogTests(SingleNodeNginxFixture fixture) : IClassFixture<SingleNodeNginxFixture>
{
    [Fact]
    public async Task TheAccessLogHasThePathsButNoQueryStringTokens()
    {
        var accessToken = fixture.Server.Tokens.User("nginx-log-user");
        var connectionToken = "connection-token-" + Guid.NewGuid().ToString("N");
        using var client = new HttpClient { BaseAddress = fixture.Nginx.BaseAddress, Timeout = TimeSpan.FromSeconds(15) };

        using var poll = await client.GetAsync($"/hubs/notifications?id={connectionToken}&access_token={accessToken}");
        using var sse = await client.GetAsync($"/api/notifications/stream?access_token=not-{accessToken}&lastEventId=x");

        var log = await Eventually.WaitUntilAsync(
            () => Task.FromResult(fixture.Nginx.AccessLog),
            text => text.Contains("/hubs/notifications", StringComparison.Ordinal) && text.Contains("/api/notifications/stream", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10), "both requests in nginx's access log");
        Assert.DoesNotContain(accessToken, log);
        Assert.DoesNotContain(connectionToken, log);
        Assert.DoesNotContain("access_token", log);
    }
}
