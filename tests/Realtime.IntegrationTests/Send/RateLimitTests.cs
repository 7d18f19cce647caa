using System.Net;
using System.Net.Http.Json;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Send;

public sealed class TightRateLimitFixture : ServerFixture
{
    public const int SendsPerSecond = 3;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["RateLimits:SendsPerSecond"] = SendsPerSecond.ToString() };
}

/// <summary>RateLimits__SendsPerSecond: a token bucket per sender (sub) on the send and broadcast endpoints.</summary>
public sealed class RateLimitTests(TightRateLimitFixture fixture) : IClassFixture<TightRateLimitFixture>
{
    private const int Attempts = 3 * TightRateLimitFixture.SendsPerSecond;

    private static async Task<List<HttpResponseMessage>> BurstAsync(HttpClient client, string path, object body) =>
        (await Task.WhenAll(Enumerable.Range(0, Attempts).Select(_ => client.PostAsJsonAsync(path, body)))).ToList();

    [Fact]
    public async Task ABurstBeyondTheLimitIsAnswered429WithRetryAfterAndOtherSendersAreNotAffected()
    {
        using var greedy = fixture.Server.CreateApiClient(fixture.Server.Tokens.Service("greedy-" + Guid.NewGuid().ToString("N")[..6]));
        using var polite = fixture.Server.CreateApiClient(fixture.Server.Tokens.Service("polite-" + Guid.NewGuid().ToString("N")[..6]));

        var answers = await BurstAsync(greedy, "/api/notifications", new { userId = "someone", title = "burst" });

        var limited = answers.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.InRange(answers.Count(r => r.StatusCode == HttpStatusCode.Created), 1, Attempts - 1);
        Assert.NotEmpty(limited);
        Assert.All(answers, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.Created, HttpStatusCode.TooManyRequests }));
        foreach (var response in limited)
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.True(response.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), "429 carries Retry-After");
        }

        var other = await polite.PostAsJsonAsync("/api/notifications", new { userId = "someone", title = "polite" });
        Assert.Equal(HttpStatusCode.Created, other.StatusCode);
    }

    [Fact]
    public async Task BroadcastsAreLimitedToo()
    {
        using var admin = fixture.Server.CreateApiClient(fixture.Server.Tokens.Admin("admin-" + Guid.NewGuid().ToString("N")[..6]));

        var answers = await BurstAsync(admin, "/api/broadcasts", new { title = "burst" });

        Assert.Contains(answers, r => r.StatusCode == HttpStatusCode.TooManyRequests);
        Assert.Contains(answers, r => r.StatusCode == HttpStatusCode.Created);
    }
}
