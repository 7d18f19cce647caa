using System.Net;
using Microsoft.Extensions.Options;
using Realtime.Server.Push;

namespace Realtime.Server.Tests.Push;

public sealed class EndpointGuardTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.255.0.9")]
    [InlineData("10.0.0.1")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.255")]
    [InlineData("192.168.0.1")]
    [InlineData("169.254.169.254")]
    [InlineData("100.64.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("224.0.0.1")]
    [InlineData("255.255.255.255")]
    [InlineData("::1")]
    [InlineData("::")]
    [InlineData("fe80::1")]
    [InlineData("fc00::1")]
    [InlineData("fd12:3456::1")]
    [InlineData("ff02::1")]
    [InlineData("::ffff:10.1.2.3")]
    [InlineData("::ffff:169.254.169.254")]
    [InlineData("64:ff9b::7f00:1")]
    [InlineData("2002:c0a8:0101::1")]
    [InlineData("::127.0.0.1")]
    public void AddressesOfTheServersOwnNetworkAreForbidden(string address) =>
        Assert.True(EndpointGuard.IsForbidden(IPAddress.Parse(address)));

    [Theory]
    [InlineData("142.250.74.10")]
    [InlineData("172.32.0.1")]
    [InlineData("100.128.0.1")]
    [InlineData("2a00:1450:4001:80b::200a")]
    [InlineData("::ffff:142.250.74.10")]
    [InlineData("64:ff9b::8efa:4a0a")]
    public void PublicAddressesAreAllowed(string address) =>
        Assert.False(EndpointGuard.IsForbidden(IPAddress.Parse(address)));

    [Theory]
    [InlineData("https://fcm.googleapis.com/fcm/send/abc", true)]
    [InlineData("https://updates.push.services.mozilla.com/wpush/v2/abc", true)]
    [InlineData("https://web.push.apple.com/abc", false)]
    [InlineData("https://evil-fcm.googleapis.com.attacker.example/x", false)]
    [InlineData("https://googleapis.com/x", false)]
    public void TheAllowListMatchesHostsAndTheirSubdomains(string endpoint, bool allowed)
    {
        var guard = new EndpointGuard(Options.Create(new PushOptions { AllowedHosts = "fcm.googleapis.com, .push.services.mozilla.com" }));
        Assert.Equal(allowed, guard.CheckEndpoint(endpoint) is null);
    }

    [Theory]
    [InlineData("http://127.0.0.1:5000/push/1")]
    [InlineData("http://localhost:5000/push/1")]
    [InlineData("https://[::1]/x")]
    public void InsecureEndpointsAreAllowedOnlyWhenConfigured(string endpoint)
    {
        Assert.NotNull(new EndpointGuard(Options.Create(new PushOptions())).CheckEndpoint(endpoint));
        Assert.Null(new EndpointGuard(Options.Create(new PushOptions { AllowInsecureEndpoints = true })).CheckEndpoint(endpoint));
    }

    [Fact]
    public async Task AConnectionToANameThatResolvesToLoopbackIsRefusedBeforeAnyByteIsSent()
    {
        var guard = new EndpointGuard(Options.Create(new PushOptions()))
        {
            Resolve = (_, _) => Task.FromResult(new[] { IPAddress.Parse("93.184.216.34"), IPAddress.Loopback }),
        };
        using var http = new HttpClient(new SocketsHttpHandler { ConnectCallback = guard.ConnectAsync });
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync("https://push.rebinding.example/x"));
        var refused = Assert.IsType<EndpointRefusedException>(error.InnerException);
        Assert.Contains("127.0.0.1", refused.Message);
    }
}
