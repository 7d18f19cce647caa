using System.Net;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Operations;

/// <summary>Tight limits, and the test's loopback trusted as a proxy so each request can name its client address.</summary>
public sealed class TightRequestLimitsFixture : ServerFixture
{
    public const int PerSecond = 3;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["RateLimits:UserRequestsPerSecond"] = PerSecond.ToString(),
        ["RateLimits:HubInvocationsPerSecond"] = PerSecond.ToString(),
        ["RateLimits:AnonymousRequestsPerSecond"] = PerSecond.ToString(),
        ["Network:KnownProxies"] = "127.0.0.1",
    };
}

/// <summary>
/// The limits besides the sender's (README "Limits"): per user on the other authenticated REST
/// calls, per client address on the anonymous endpoints (health excluded), per connection on hub
/// invocations; each a 429 with Retry-After and a problem naming its setting (a HubException on
/// the hub), counted in <c>realtime_rate_limit_rejections_total{policy}</c>.
/// </summary>
public sealed class RequestRateLimitTests(TightRequestLimitsFixture fixture) : IClassFixture<TightRequestLimitsFixture>
{
    private const int Attempts = 3 * TightRequestLimitsFixture.PerSecond;

    private RealtimeServer Server => fixture.Server;

    private static string NewId(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    private static int _addresses;

    /// <summary>A fresh address for each call, so requests of this class do not share a bucket unless they mean to.</summary>
    private static string NewAddress()
    {
        var n = Interlocked.Increment(ref _addresses);
        return $"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}";
    }

    private static async Task<List<HttpResponseMessage>> BurstAsync(HttpClient client, string path, string? forwardedFor = null) =>
        (await Task.WhenAll(Enumerable.Range(0, Attempts).Select(_ =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (forwardedFor is not null)
            {
                request.Headers.Add("X-Forwarded-For", forwardedFor);
            }
            return client.SendAsync(request);
        }))).ToList();

    private static async Task AssertLimitedAsync(List<HttpResponseMessage> answers, string setting)
    {
        Assert.All(answers, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.TooManyRequests }));
        Assert.Contains(answers, r => r.StatusCode == HttpStatusCode.OK);
        var limited = answers.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(limited);
        foreach (var response in limited)
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.True(response.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), "429 carries Retry-After");
            Assert.Contains(setting, await response.Content.ReadAsStringAsync());
        }
    }

    /// <summary>Waits until <c>/metrics</c> counts a rejection of <paramref name="policy"/> (the exporter caches a scrape briefly).</summary>
    private async Task AssertCountedAsync(string policy)
    {
        using var client = Server.CreateApiClient();
        await Eventually.WaitUntilAsync(async () =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
                request.Headers.Add("X-Forwarded-For", NewAddress());
                var scrape = PrometheusText.Parse(await (await client.SendAsync(request)).EnsureSuccessStatusCode().Content.ReadAsStringAsync());
                return scrape.Samples.Where(s => s.Name == "realtime_rate_limit_rejections_total" && s.Has("policy", policy)).Sum(s => s.Value);
            },
            rejections => rejections >= 1, TimeSpan.FromSeconds(10), $"a rejection counted under policy {policy}", interval: TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task InboxCallsBeyondTheLimitOfAUserAre429AndOtherUsersAreNotAffected()
    {
        using var greedy = Server.CreateApiClient(Server.Tokens.User(NewId("greedy")));
        using var polite = Server.CreateApiClient(Server.Tokens.User(NewId("polite")));

        var answers = await BurstAsync(greedy, "/api/notifications/unread-count");

        await AssertLimitedAsync(answers, "RateLimits__UserRequestsPerSecond");
        Assert.Equal(HttpStatusCode.OK, (await polite.GetAsync("/api/notifications")).StatusCode);
        await AssertCountedAsync("user_requests");
    }

    [Fact]
    public async Task AnonymousEndpointsAreLimitedPerClientAddressButHealthProbesAreNot()
    {
        using var client = Server.CreateApiClient();
        var greedy = NewAddress();

        var answers = await BurstAsync(client, "/api/push/vapid-public-key", forwardedFor: greedy);

        await AssertLimitedAsync(answers, "RateLimits__AnonymousRequestsPerSecond");
        using var other = new HttpRequestMessage(HttpMethod.Get, "/api/push/vapid-public-key");
        other.Headers.Add("X-Forwarded-For", "198.51.100.7");
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(other)).StatusCode);
        var probes = await BurstAsync(client, "/health/live", forwardedFor: greedy);
        Assert.All(probes, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        await AssertCountedAsync("anonymous_requests");
    }

    [Fact]
    public async Task AnXForwardedForFromAnUntrustedPeerIsIgnoredSoItCannotDodgeTheLimit()
    {
        await using var direct = await RealtimeServer.StartAsync(fixture.Database.ConnectionString, new Dictionary<string, string?>
        {
            ["RateLimits:AnonymousRequestsPerSecond"] = TightRequestLimitsFixture.PerSecond.ToString(),
        });
        using var client = direct.CreateApiClient();

        // Each request claims another address; without Network__KnownProxies they all count as loopback's.
        var answers = await Task.WhenAll(Enumerable.Range(0, Attempts).Select(i =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/api/push/vapid-public-key");
            request.Headers.Add("X-Forwarded-For", $"192.0.2.{i + 1}");
            return client.SendAsync(request);
        }));

        await AssertLimitedAsync(answers.ToList(), "RateLimits__AnonymousRequestsPerSecond");
    }

    [Fact]
    public async Task HubInvocationsBeyondTheLimitOfAConnectionFailWithAHubExceptionAndTheConnectionStaysOpen()
    {
        var user = NewId("hub-greedy");
        await using var hub = await Server.ConnectHubAsync(Server.Tokens.User(user));

        var invocations = Enumerable.Range(0, Attempts).Select(_ => hub.Connection.InvokeAsync<int>("Resume", 0L)).ToList();
        var outcomes = await Task.WhenAll(invocations.Select(async i =>
        {
            try
            {
                await i;
                return null;
            }
            catch (HubException ex)
            {
                return ex.Message;
            }
        }));

        Assert.Contains(outcomes, o => o is null);
        var refused = outcomes.Where(o => o is not null).ToList();
        Assert.NotEmpty(refused);
        Assert.All(refused, message => Assert.Contains("RateLimits__HubInvocationsPerSecond", message));
        // Still connected: a notification arrives on the same connection.
        var id = await Server.SendAsync(user, "after the refusals");
        await hub.WaitForAsync("notification", n => n.GetProperty("id").GetInt64() == id);
        Assert.False(hub.Closed.IsCompleted);
        await AssertCountedAsync("hub_invocations");
    }
}
