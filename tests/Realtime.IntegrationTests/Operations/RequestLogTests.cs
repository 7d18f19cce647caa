using System.Net;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Operations;

/// <summary>
/// Serilog's request logging (a real node process, its console output as operators see it): one
/// line a request, by path, without the query string that carries browsers' access tokens.
/// </summary>
public sealed class RequestLogTests
{
    private static readonly TimeSpan LogTimeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task EveryRequestIsLoggedByPathAndNeverWithTheAccessTokenOfItsQueryString()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using var node = await ServerProcess.StartAsync(database.ConnectionString);
        var token = node.Tokens.User("request-log-" + Guid.NewGuid().ToString("N")[..8]);
        using var client = node.CreateApiClient();

        var negotiate = await client.PostAsync($"/hubs/notifications/negotiate?negotiateVersion=1&access_token={token}", null);
        Assert.Equal(HttpStatusCode.OK, negotiate.StatusCode);
        var inbox = await client.GetAsync($"/api/notifications?access_token={token}"); // the REST API takes no query token
        Assert.Equal(HttpStatusCode.Unauthorized, inbox.StatusCode);

        await node.WithOutputOnFailureAsync(async () =>
        {
            await Eventually.WaitUntilAsync(
                () => node.Output.ToString().Contains("HTTP POST /hubs/notifications/negotiate responded 200", StringComparison.Ordinal)
                      && node.Output.ToString().Contains("HTTP GET /api/notifications responded 401", StringComparison.Ordinal),
                LogTimeout, "both requests logged");
            var output = node.Output.ToString();
            Assert.DoesNotContain(token, output);
            Assert.DoesNotContain("access_token", output);
        });
    }
}
