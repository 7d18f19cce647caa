using System.Net;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;

namespace Realtime.IntegrationTests.Operations;

/// <summary>
/// A hub connection is one request that lasts as long as the connection, so the middleware it
/// passes through is kept alive with it. The readiness gate no longer waits on the rest of the
/// pipeline and the rate limiter no longer sees the hub at all (it never limited it): what they
/// answer stays the same.
/// </summary>
public sealed class LongLivedRequestTests(TightRequestLimitsFixture fixture) : IClassFixture<TightRequestLimitsFixture>
{
    [Fact]
    public async Task WhileTheNodeIsStartingTheHubAndTheApiAnswer503AndBothWorkOnceItIsReady()
    {
        await using var node = await StartingNode.StartAsync();
        var server = node.Server;
        var user = "gate-" + Guid.NewGuid().ToString("N")[..8];
        using var client = server.CreateApiClient(server.Tokens.User(user));

        using (var negotiate = await client.PostAsync("/hubs/notifications/negotiate?negotiateVersion=1", null))
        {
            await ProblemAssert.IsProblemAsync(negotiate, HttpStatusCode.ServiceUnavailable);
            Assert.True(negotiate.Headers.RetryAfter is not null, "a 503 while starting says when to retry");
        }
        using (var inbox = await client.GetAsync("/api/notifications"))
        {
            await ProblemAssert.IsProblemAsync(inbox, HttpStatusCode.ServiceUnavailable);
        }

        node.ReachDatabase();
        await server.WaitUntilReadyAsync();
        using (var negotiate = await client.PostAsync("/hubs/notifications/negotiate?negotiateVersion=1", null))
        {
            Assert.Equal(HttpStatusCode.OK, negotiate.StatusCode);
        }
        await using var hub = await server.ConnectHubAsync(server.Tokens.User(user));
        var id = await server.SendAsync(user, "after start-up");
        Assert.Equal(id, (await hub.NextAsync("notification")).Argument.GetProperty("id").GetInt64());
    }

    [Fact]
    public async Task HubConnectionsOfOneUserBeyondTheRestLimitsAreNotRateLimited()
    {
        var user = "many-" + Guid.NewGuid().ToString("N")[..8];
        var connections = new List<HubClient>();
        try
        {
            for (var i = 0; i < 3 * TightRequestLimitsFixture.PerSecond; i++)
            {
                connections.Add(await fixture.Server.ConnectHubAsync(fixture.Server.Tokens.User(user)));
            }
            var id = await fixture.Server.SendAsync(user, "to every connection");
            foreach (var connection in connections)
            {
                Assert.Equal(id, (await connection.NextAsync("notification")).Argument.GetProperty("id").GetInt64());
            }
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }
}
