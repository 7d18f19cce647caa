using System.Net;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Send;

/// <summary>
/// <c>idempotencyKey</c>: the same key from the same sender within 24 h answers 200 with the first call's ids and
/// creates nothing; with another body, 409. Keys are per sender and expire.
/// </summary>
public sealed class IdempotencyTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const int ConcurrentRetries = 20;

    private RealtimeServer Server => fixture.Server;

    [Fact]
    public async Task ARetryWithTheSameKeyAndBodyAnswers200WithTheFirstIdsAndCreatesNothing()
    {
        var (alice, bob) = (SendApi.NewUserId("alice"), SendApi.NewUserId("bob"));
        var body = new { userIds = new[] { alice, bob }, title = "Shipped", idempotencyKey = NewKey() };
        using var client = Sender();

        var first = await SendApi.ReadSentAsync(await SendApi.PostAsync(client, body));
        var retry = await SendApi.ReadSentAsync(await SendApi.PostAsync(client, body), HttpStatusCode.OK);

        Assert.Equal(first, retry);
        Assert.Equal(first.Single(s => s.UserId == alice).Id, Assert.Single(await SendApi.InboxAsync(Server, alice)).GetProperty("id").GetInt64());
        Assert.Equal(1, await SendApi.StoredCountAsync(fixture.Database, alice));
        Assert.Equal(1, await SendApi.StoredCountAsync(fixture.Database, bob));
    }

    [Fact]
    public async Task ReusingAKeyWithAnotherBodyIsAConflictAndCreatesNothing()
    {
        var user = SendApi.NewUserId();
        var key = NewKey();
        using var client = Sender();
        await SendApi.ReadSentAsync(await SendApi.PostAsync(client, new { userId = user, title = "Shipped", idempotencyKey = key }));

        var conflict = await SendApi.PostAsync(client, new { userId = user, title = "Delivered", idempotencyKey = key });

        await ProblemAssert.IsProblemAsync(conflict, HttpStatusCode.Conflict);
        Assert.Equal("Shipped", Assert.Single(await SendApi.InboxAsync(Server, user)).GetProperty("title").GetString());
    }

    [Fact]
    public async Task TheSameKeyFromAnotherSenderCreatesNewNotifications()
    {
        var user = SendApi.NewUserId();
        var body = new { userId = user, title = "Shipped", idempotencyKey = NewKey() };
        using var billing = Server.CreateApiClient(Server.Tokens.Service("billing-service"));
        using var shipping = Server.CreateApiClient(Server.Tokens.Service("shipping-service"));

        var fromBilling = Assert.Single(await SendApi.ReadSentAsync(await SendApi.PostAsync(billing, body)));
        var fromShipping = Assert.Single(await SendApi.ReadSentAsync(await SendApi.PostAsync(shipping, body)));

        Assert.NotEqual(fromBilling.Id, fromShipping.Id);
        Assert.Equal(2, (await SendApi.InboxAsync(Server, user)).Count);
    }

    [Fact]
    public async Task ConcurrentRequestsWithOneKeyCreateOneSetOfNotificationsAndAllAnswerIt()
    {
        var user = SendApi.NewUserId();
        var body = new { userId = user, title = "Once", idempotencyKey = NewKey() };
        using var client = Sender();

        var responses = await Task.WhenAll(Enumerable.Range(0, ConcurrentRetries).Select(_ => SendApi.PostAsync(client, body)));

        var statuses = responses.Select(r => r.StatusCode).ToList();
        Assert.True(statuses.All(s => s is HttpStatusCode.Created or HttpStatusCode.OK), $"Statuses: {string.Join(", ", statuses)}");
        Assert.Single(statuses, HttpStatusCode.Created);
        var answers = new List<IReadOnlyList<SendApi.Sent>>();
        foreach (var response in responses)
        {
            answers.Add(await SendApi.ReadSentAsync(response, response.StatusCode));
        }
        Assert.Single(answers.Select(a => Assert.Single(a).Id).Distinct());
        Assert.Single(await SendApi.InboxAsync(Server, user));
        Assert.Equal(1, await SendApi.StoredCountAsync(fixture.Database, user));
    }

    [Fact]
    public async Task AfterTwentyFourHoursTheSameKeyCreatesNewNotifications()
    {
        // The clock belongs to the server, so this test moves the clock of a server of its own.
        await using var database = await TestDatabase.CreateAsync();
        await using var server = await RealtimeServer.StartAsync(database.ConnectionString);
        var user = SendApi.NewUserId();
        var body = new { userId = user, title = "Daily", idempotencyKey = NewKey() };
        using var client = server.CreateApiClient(server.Tokens.Service());
        var first = Assert.Single(await SendApi.ReadSentAsync(await SendApi.PostAsync(client, body)));
        Assert.Equal(first, Assert.Single(await SendApi.ReadSentAsync(await SendApi.PostAsync(client, body), HttpStatusCode.OK)));

        server.Time.Advance(TimeSpan.FromHours(25));
        var later = Assert.Single(await SendApi.ReadSentAsync(await SendApi.PostAsync(client, body)));

        Assert.True(later.Id > first.Id, $"A new notification: {later.Id} after {first.Id}");
        Assert.Equal(2, await SendApi.StoredCountAsync(database, user));
        Assert.Equal(later, Assert.Single(await SendApi.ReadSentAsync(await SendApi.PostAsync(client, body), HttpStatusCode.OK)));
    }

    private HttpClient Sender() => Server.CreateApiClient(Server.Tokens.Service());

    private static string NewKey() => $"key-{Guid.NewGuid():N}";
}
