using System.Net;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;

namespace Realtime.IntegrationTests.Live;

/// <summary>The SSE stream works for any valid <c>exp</c>, also one further ahead than a single timer can wait (~49.7 days).</summary>
public sealed class SseLongLivedTokenTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Theory]
    [InlineData(60)]
    [InlineData(36_500)]
    public async Task AStreamOpensAndDeliversWithATokenExpiringDaysAhead(int days)
    {
        var server = fixture.Server;
        var user = SendApi.NewUserId();
        await using var stream = await SseTestClient.ConnectAsync(server.BaseAddress, server.Tokens.Mint(user, lifetime: TimeSpan.FromDays(days)));

        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
        await stream.Retry.WaitAsync(SseTestClient.DefaultTimeout);
        var id = await server.SendAsync(user, "far future");

        var received = await stream.NextAsync("notification");
        Assert.Equal(id.ToString(System.Globalization.CultureInfo.InvariantCulture), received.Id);
    }
}
