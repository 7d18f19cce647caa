using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;

namespace Realtime.IntegrationTests.Preferences;

/// <summary>
/// At send time, recipients who muted the category (<c>inApp: false</c>) get nothing stored or sent
/// and are answered in <c>suppressed</c>; idempotent replays answer the same; mandatory categories
/// and broadcasts are never hidden.
/// </summary>
public sealed class SuppressionTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RealtimeServer Server => fixture.Server;

    [Fact]
    public async Task ARecipientWhoMutedTheCategoryIsSuppressedAndGetsNothing()
    {
        var (ann, ben) = (SendApi.NewUserId("ann"), SendApi.NewUserId("ben"));
        await PreferencesApi.SaveAsync(Server, ann, new { categories = new { marketing = new { inApp = false } } });
        using var sender = Sender();

        var response = await SendApi.PostAsync(sender, new { userIds = new[] { ann, ben }, title = "Sale!", category = "marketing" });

        var sent = await SendApi.ReadSentAsync(response);
        Assert.Equal(ben, Assert.Single(sent).UserId);
        Assert.Equal([(ann, "preferences")], await SuppressedAsync(response));
        Assert.Empty(await SendApi.InboxAsync(Server, ann));
        Assert.Equal(0, await SendApi.StoredCountAsync(fixture.Database, ann));
        Assert.Single(await SendApi.InboxAsync(Server, ben));
    }

    [Fact]
    public async Task ASendWhoseRecipientsAreAllSuppressedStillAnswers201WithNoNotifications()
    {
        var (ann, ben) = (SendApi.NewUserId("ann"), SendApi.NewUserId("ben"));
        await PreferencesApi.SaveAsync(Server, ann, new { categories = new { deals = new { inApp = false } } });
        await PreferencesApi.SaveAsync(Server, ben, new { channels = new { inApp = false } });
        using var sender = Sender();

        var response = await SendApi.PostAsync(sender, new { userIds = new[] { ann, ben }, title = "Deal", category = "deals" });

        Assert.Empty(await SendApi.ReadSentAsync(response));
        Assert.Equal([(ann, "preferences"), (ben, "preferences")], await SuppressedAsync(response));
        Assert.Equal(0, await SendApi.StoredCountAsync(fixture.Database, ann) + await SendApi.StoredCountAsync(fixture.Database, ben));
    }

    [Fact]
    public async Task OtherCategoriesAndPushOffDoNotSuppress()
    {
        var ann = SendApi.NewUserId("ann");
        await PreferencesApi.SaveAsync(Server, ann, new { channels = new { push = false }, categories = new { deals = new { inApp = false } } });
        using var sender = Sender();

        var response = await SendApi.PostAsync(sender, new { userId = ann, title = "Shipped", category = "order.shipped" });

        Assert.Single(await SendApi.ReadSentAsync(response));
        Assert.Empty(await SuppressedAsync(response));
    }

    [Fact]
    public async Task MutingEverythingByDefaultStillLetsMandatoryCategoriesThrough()
    {
        var ann = SendApi.NewUserId("ann");
        await PreferencesApi.SaveAsync(Server, ann, new { channels = new { inApp = false, push = false } });
        using var sender = Sender();

        Assert.Empty(await SendApi.ReadSentAsync(await SendApi.PostAsync(sender, new { userId = ann, title = "News" })));
        Assert.Single(await SendApi.ReadSentAsync(await SendApi.PostAsync(sender, new { userId = ann, title = "New sign-in", category = "security" })));
        Assert.Single(await SendApi.ReadSentAsync(await SendApi.PostAsync(sender, new { userId = ann, title = "Maintenance", category = "system" })));
        Assert.Equal(["Maintenance", "New sign-in"], (await SendApi.InboxAsync(Server, ann)).Select(n => n.GetProperty("title").GetString()));
    }

    [Fact]
    public async Task AChangeActsOnTheNextSendAtOnce()
    {
        var ann = SendApi.NewUserId("ann");
        using var sender = Sender();
        var body = new { userId = ann, title = "Tip", category = "tips" };
        Assert.Single(await SendApi.ReadSentAsync(await SendApi.PostAsync(sender, body))); // cached: not muted

        await PreferencesApi.SaveAsync(Server, ann, new { categories = new { tips = new { inApp = false } } });
        Assert.Empty(await SendApi.ReadSentAsync(await SendApi.PostAsync(sender, body)));

        await PreferencesApi.SaveAsync(Server, ann, new { });
        Assert.Single(await SendApi.ReadSentAsync(await SendApi.PostAsync(sender, body)));
    }

    [Fact]
    public async Task AnIdempotentReplayAnswersTheSameNotificationsAndSuppressedEvenAfterTheUserUnmuted()
    {
        var (ann, ben) = (SendApi.NewUserId("ann"), SendApi.NewUserId("ben"));
        await PreferencesApi.SaveAsync(Server, ann, new { categories = new { marketing = new { inApp = false } } });
        using var sender = Sender();
        var body = new { userIds = new[] { ann, ben }, title = "Sale!", category = "marketing", idempotencyKey = "sale-" + Guid.NewGuid() };

        var first = await SendApi.PostAsync(sender, body);
        var firstText = await first.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        await PreferencesApi.SaveAsync(Server, ann, new { });
        var retry = await SendApi.PostAsync(sender, body);

        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(firstText, await retry.Content.ReadAsStringAsync());
        Assert.Equal(0, await SendApi.StoredCountAsync(fixture.Database, ann));
        Assert.Equal(1, await SendApi.StoredCountAsync(fixture.Database, ben));
    }

    [Fact]
    public async Task ASendThatCreatedNothingStillHoldsItsIdempotencyKey()
    {
        var ann = SendApi.NewUserId("ann");
        await PreferencesApi.SaveAsync(Server, ann, new { categories = new { marketing = new { inApp = false } } });
        using var sender = Sender();
        var key = "sale-" + Guid.NewGuid();
        var body = new { userId = ann, title = "Sale!", category = "marketing", idempotencyKey = key };

        var first = await SendApi.PostAsync(sender, body);
        var firstText = await first.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        await PreferencesApi.SaveAsync(Server, ann, new { }); // unmuted: a fresh send would now create one
        var retry = await SendApi.PostAsync(sender, body);
        var other = await SendApi.PostAsync(sender, new { userId = ann, title = "Another sale", category = "marketing", idempotencyKey = key });

        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(firstText, await retry.Content.ReadAsStringAsync());
        Assert.Equal("""{"notifications":[],"suppressed":[{"userId":"ANN","reason":"preferences"}]}""".Replace("ANN", ann), firstText);
        await ProblemAssert.IsProblemAsync(other, HttpStatusCode.Conflict);
        Assert.Equal(0, await SendApi.StoredCountAsync(fixture.Database, ann));
    }

    [Fact]
    public async Task ConcurrentRetriesOfASuppressedSendAllAnswerTheSame()
    {
        var ann = SendApi.NewUserId("ann");
        await PreferencesApi.SaveAsync(Server, ann, new { categories = new { marketing = new { inApp = false } } });
        using var sender = Sender();
        var body = new { userId = ann, title = "Sale!", category = "marketing", idempotencyKey = "sale-" + Guid.NewGuid() };

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => SendApi.PostAsync(sender, body)));

        var statuses = responses.Select(r => r.StatusCode).ToList();
        Assert.True(statuses.All(s => s is HttpStatusCode.Created or HttpStatusCode.OK), string.Join(", ", statuses));
        Assert.Single(statuses, HttpStatusCode.Created);
        var texts = await Task.WhenAll(responses.Select(r => r.Content.ReadAsStringAsync()));
        Assert.Single(texts.Distinct());
    }

    private HttpClient Sender() => Server.CreateApiClient(Server.Tokens.Service("preferences-tests-" + Guid.NewGuid().ToString("N")[..8]));

    private static async Task<List<(string UserId, string Reason)>> SuppressedAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.GetProperty("suppressed").EnumerateArray()
            .Select(s =>
            {
                Assert.Equal(new[] { "userId", "reason" }, s.EnumerateObject().Select(p => p.Name));
                return (s.GetProperty("userId").GetString()!, s.GetProperty("reason").GetString()!);
            })
            .ToList();
    }
}

/// <summary>Broadcasts are system notices: preferences do not hide them (a class of its own: a broadcast reaches every inbox).</summary>
public sealed class BroadcastPreferencesTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task BroadcastsAreSystemNoticesThatPreferencesDoNotHide()
    {
        var ann = SendApi.NewUserId("ann");
        await PreferencesApi.SaveAsync(fixture.Server, ann, new { channels = new { inApp = false }, categories = new { announcements = new { inApp = false } } });
        using var admin = fixture.Server.CreateApiClient(fixture.Server.Tokens.Admin());

        var response = await admin.PostAsJsonAsync("/api/broadcasts", new { title = "We moved", category = "announcements" });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        Assert.Contains(await SendApi.InboxAsync(fixture.Server, ann), n => n.GetProperty("id").GetInt64() == id);
    }
}

/// <summary><c>Notifications__MandatoryCategories</c> replaces the default <c>system,security</c>.</summary>
public sealed class MandatoryCategoriesTests(MandatoryCategoriesTests.Fixture fixture) : IClassFixture<MandatoryCategoriesTests.Fixture>
{
    public sealed class Fixture : ServerFixture
    {
        protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Notifications:MandatoryCategories"] = "billing, legal" };
    }

    [Fact]
    public async Task TheConfiguredCategoriesAreMandatoryAndTheDefaultOnesNoLonger()
    {
        var ann = SendApi.NewUserId("ann");
        await ProblemAssert.IsInvalidAsync(
            await PreferencesApi.PutAsync(fixture.Server, ann, new { categories = new { legal = new { inApp = false } } }), "categories.legal.inApp");
        await ProblemAssert.IsInvalidAsync(
            await PreferencesApi.PutAsync(fixture.Server, ann, new { categories = new { billing = new { push = false } } }), "categories.billing.push");
        await PreferencesApi.SaveAsync(fixture.Server, ann, new { channels = new { inApp = false }, categories = new { system = new { inApp = false } } });

        using var sender = fixture.Server.CreateApiClient(fixture.Server.Tokens.Service());
        Assert.Empty(await SendApi.ReadSentAsync(await SendApi.PostAsync(sender, new { userId = ann, title = "Maintenance", category = "system" })));
        Assert.Single(await SendApi.ReadSentAsync(await SendApi.PostAsync(sender, new { userId = ann, title = "Invoice", category = "billing" })));
    }
}
