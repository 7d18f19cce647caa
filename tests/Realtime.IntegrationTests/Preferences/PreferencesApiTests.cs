using System.Net;
using System.Text.Json;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;

namespace Realtime.IntegrationTests.Preferences;

/// <summary>
/// <c>GET</c>/<c>PUT /api/preferences</c> (API.md, "Preferences"): the defaults, the round trip,
/// every user on their own document, and strict validation naming the field at fault.
/// </summary>
public sealed class PreferencesApiTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string Defaults = """{"locale":null,"timeZone":null,"channels":{"inApp":true,"push":true},"categories":{},"quietHours":null}""";

    private RealtimeServer Server => fixture.Server;

    [Fact]
    public async Task AUserWhoNeverSavedAnyGetsTheDefaults()
    {
        var preferences = await PreferencesApi.GetAsync(Server, SendApi.NewUserId());
        Assert.Equal(Defaults, preferences.GetRawText());
    }

    [Fact]
    public async Task TheContractsExampleRoundTripsAndIsWhatGetAnswersAfterwards()
    {
        var user = SendApi.NewUserId();
        var saved = await PreferencesApi.ReadOkAsync(await PreferencesApi.PutAsync(Server, user, """
            { "locale": "de-AT", "timeZone": "Europe/Vienna",
              "channels": { "push": true },
              "categories": { "order.shipped": { "push": false }, "marketing": { "inApp": false } },
              "quietHours": { "start": "22:00", "end": "07:00" } }
            """));

        Assert.Equal(
            """{"locale":"de-AT","timeZone":"Europe/Vienna","channels":{"inApp":true,"push":true},"categories":{"marketing":{"inApp":false},"order.shipped":{"push":false}},"quietHours":{"start":"22:00","end":"07:00"}}""",
            saved.GetRawText());
        Assert.Equal(saved.GetRawText(), (await PreferencesApi.GetAsync(Server, user)).GetRawText());
    }

    [Fact]
    public async Task PutReplacesTheWholeDocumentAndAnEmptyOneRestoresTheDefaults()
    {
        var user = SendApi.NewUserId();
        await PreferencesApi.SaveAsync(Server, user, new { locale = "fr", categories = new Dictionary<string, object> { ["deals"] = new { inApp = false } } });
        var replaced = await PreferencesApi.SaveAsync(Server, user, new { timeZone = "America/New_York" });
        Assert.Equal(JsonValueKind.Null, replaced.GetProperty("locale").ValueKind);
        Assert.Empty(replaced.GetProperty("categories").EnumerateObject());

        await PreferencesApi.SaveAsync(Server, user, new { });
        Assert.Equal(Defaults, (await PreferencesApi.GetAsync(Server, user)).GetRawText());
    }

    [Fact]
    public async Task EachUserReadsAndWritesOnlyTheirOwnDocument()
    {
        var (ann, ben) = (SendApi.NewUserId("ann"), SendApi.NewUserId("ben"));
        await PreferencesApi.SaveAsync(Server, ann, new { locale = "de", channels = new { push = false } });
        await PreferencesApi.SaveAsync(Server, ben, new { locale = "en-GB" });

        Assert.Equal("de", (await PreferencesApi.GetAsync(Server, ann)).GetProperty("locale").GetString());
        Assert.False((await PreferencesApi.GetAsync(Server, ann)).GetProperty("channels").GetProperty("push").GetBoolean());
        Assert.Equal("en-GB", (await PreferencesApi.GetAsync(Server, ben)).GetProperty("locale").GetString());
        Assert.True((await PreferencesApi.GetAsync(Server, ben)).GetProperty("channels").GetProperty("push").GetBoolean());
    }

    [Fact]
    public async Task WithoutATokenTheAnswerIs401()
    {
        using var anonymous = Server.CreateApiClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(PreferencesApi.Path)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PutAsync(PreferencesApi.Path, new StringContent("{}"))).StatusCode);
    }

    [Fact]
    public async Task TheLocaleIsStoredInItsConventionalCase()
    {
        var saved = await PreferencesApi.SaveAsync(Server, SendApi.NewUserId(), new { locale = "zh-hant-tw" });
        Assert.Equal("zh-Hant-TW", saved.GetProperty("locale").GetString());
    }

    [Fact]
    public async Task MandatoryCategoriesMayBeListedSwitchedOn()
    {
        var saved = await PreferencesApi.SaveAsync(Server, SendApi.NewUserId(), new { categories = new { system = new { inApp = true, push = true } } });
        Assert.True(saved.GetProperty("categories").GetProperty("system").GetProperty("push").GetBoolean());
    }

    [Theory]
    [InlineData("""{ "colour": "blue" }""", "colour", "an unknown field")]
    [InlineData("""{ "channels": { "email": false } }""", "channels.email", "an unknown channel")]
    [InlineData("""{ "categories": { "deals": { "sms": false } } }""", "categories.deals.sms", "an unknown channel in a category")]
    [InlineData("""{ "channels": { "push": "off" } }""", "channels.push", "a channel that is not a boolean")]
    [InlineData("""{ "timeZone": "Europe/Atlantis" }""", "timeZone", "an unknown time zone")]
    [InlineData("""{ "timeZone": "Pacific Standard Time" }""", "timeZone", "a Windows time zone name")]
    [InlineData("""{ "locale": "english please" }""", "locale", "a bad locale")]
    [InlineData("""{ "locale": "de_AT" }""", "locale", "a locale with an underscore")]
    [InlineData("""{ "quietHours": { "start": "22:00", "end": "07:00" } }""", "timeZone", "quiet hours without a time zone")]
    [InlineData("""{ "timeZone": "UTC", "quietHours": { "start": "25:00", "end": "07:00" } }""", "quietHours.start", "an hour past 23")]
    [InlineData("""{ "timeZone": "UTC", "quietHours": { "start": "22:00", "end": "7:00" } }""", "quietHours.end", "a time without two digits")]
    [InlineData("""{ "timeZone": "UTC", "quietHours": { "start": "22:00", "end": "07:60" } }""", "quietHours.end", "minute 60")]
    [InlineData("""{ "timeZone": "UTC", "quietHours": { "start": "22:00" } }""", "quietHours.end", "a window without an end")]
    [InlineData("""{ "categories": { "system": { "inApp": false } } }""", "categories.system.inApp", "muting a mandatory category")]
    [InlineData("""{ "categories": { "security": { "push": false } } }""", "categories.security.push", "push off for a mandatory category")]
    [InlineData("""{ "categories": { "": { "push": false } } }""", "categories", "an empty category name")]
    [InlineData("""{ "categories": [] }""", "categories", "categories that are not an object")]
    [InlineData("""{ "locale": "de", "locale": "fr" }""", "locale", "a field given twice")]
    [InlineData("""[ 1 ]""", "request", "a body that is not an object")]
    [InlineData("""{ "locale": """, "request", "a body that is not JSON")]
    public async Task ABadDocumentIsA400NamingTheFieldAndChangesNothing(string json, string field, string because)
    {
        var user = SendApi.NewUserId();
        await PreferencesApi.SaveAsync(Server, user, new { locale = "en" });

        await ProblemAssert.IsInvalidAsync(await PreferencesApi.PutAsync(Server, user, json), field, because);

        Assert.Equal("en", (await PreferencesApi.GetAsync(Server, user)).GetProperty("locale").GetString());
    }

    [Fact]
    public async Task MoreThanFiveHundredCategoriesAreA400()
    {
        var user = SendApi.NewUserId();
        var categories = Enumerable.Range(0, 501).ToDictionary(i => $"category-{i}", _ => (object)new { push = false });
        await ProblemAssert.IsInvalidAsync(await PreferencesApi.PutAsync(Server, user, new { categories }), "categories");

        categories.Remove("category-500");
        var saved = await PreferencesApi.SaveAsync(Server, user, new { categories });
        Assert.Equal(500, saved.GetProperty("categories").EnumerateObject().Count());
    }

    [Fact]
    public async Task ACategoryNameOverAHundredCharactersIsA400()
    {
        var user = SendApi.NewUserId();
        await ProblemAssert.IsInvalidAsync(
            await PreferencesApi.PutAsync(Server, user, new { categories = new Dictionary<string, object> { [new string('c', 101)] = new { push = false } } }), "categories");
        await PreferencesApi.SaveAsync(Server, user, new { categories = new Dictionary<string, object> { [new string('c', 100)] = new { push = false } } });
    }

    [Fact]
    public async Task AnEmptyBodyIsA400AndAnOversizedOneA413()
    {
        var user = SendApi.NewUserId();
        await ProblemAssert.IsInvalidAsync(await PreferencesApi.PutAsync(Server, user, ""), "request");
        await ProblemAssert.IsProblemAsync(await PreferencesApi.PutAsync(Server, user, $$"""{ "locale": "{{new string('x', 600 * 1024)}}" }"""), HttpStatusCode.RequestEntityTooLarge);
    }
}
