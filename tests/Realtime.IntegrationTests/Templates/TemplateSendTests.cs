using System.Net;
using System.Text.Json;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;
using static Realtime.IntegrationTests.Templates.TemplatesApiClient;

namespace Realtime.IntegrationTests.Templates;

/// <summary>API.md "Templates": a send with template + variables, rendered per recipient's locale, stored rendered.</summary>
public sealed class TemplateSendTests(TemplatesFixture fixture) : IClassFixture<TemplatesFixture>
{
    private RealtimeServer Server => fixture.Server;

    private static readonly object OrderShipped = new
    {
        category = "order.shipped",
        priority = "high",
        ttlSeconds = 604800,
        defaultLocale = "en",
        locales = new Dictionary<string, object>
        {
            ["en"] = new { title = "Order {{ orderId }} shipped", body = "Hi {{ name | default: \"there\" }}, it is on its way.", link = "https://shop.example/orders/{{ orderId }}" },
            ["de"] = new { title = "Bestellung {{ orderId }} ist unterwegs", body = "Hallo {{ name | default: \"du\" }}!" },
        },
    };

    private async Task<string> SaveAsync(object document)
    {
        using var admin = Server.CreateApiClient(Server.Tokens.Admin());
        var key = NewKey("tpl");
        await TemplatesApiClient.SaveAsync(admin, key, document);
        return key;
    }

    private async Task<HttpResponseMessage> SendAsync(object body)
    {
        using var service = Server.CreateApiClient(Server.Tokens.Service());
        return await SendApi.PostAsync(service, body);
    }

    private async Task<JsonElement> OnlyNotificationAsync(string userId) => Assert.Single(await SendApi.InboxAsync(Server, userId));

    [Fact]
    public async Task EachRecipientGetsTheTemplateInTheirLocaleWithVariablesAndDefaultsFilledIn()
    {
        var key = await SaveAsync(OrderShipped);
        var (austrian, german, french, unknown) = (SendApi.NewUserId("at"), SendApi.NewUserId("de"), SendApi.NewUserId("fr"), SendApi.NewUserId("none"));
        fixture.Locales.Preferred[austrian] = "de-AT";
        fixture.Locales.Preferred[german] = "de";
        fixture.Locales.Preferred[french] = "fr-FR";

        var response = await SendAsync(new { userIds = new[] { austrian, german, french, unknown }, template = key, variables = new { orderId = "123" } });
        Assert.Equal(4, (await SendApi.ReadSentAsync(response)).Count);

        foreach (var user in new[] { austrian, german })
        {
            var n = await OnlyNotificationAsync(user);
            Assert.Equal("Bestellung 123 ist unterwegs", n.GetProperty("title").GetString());
            Assert.Equal("Hallo du!", n.GetProperty("body").GetString());
            Assert.Equal(JsonValueKind.Null, n.GetProperty("link").ValueKind);
        }
        foreach (var user in new[] { french, unknown })
        {
            var n = await OnlyNotificationAsync(user);
            Assert.Equal("Order 123 shipped", n.GetProperty("title").GetString());
            Assert.Equal("Hi there, it is on its way.", n.GetProperty("body").GetString());
            Assert.Equal("https://shop.example/orders/123", n.GetProperty("link").GetString());
            Assert.Equal("order.shipped", n.GetProperty("category").GetString());
            Assert.Equal("high", n.GetProperty("priority").GetString());
            var ttl = n.GetProperty("expiresAt").GetDateTime() - n.GetProperty("createdAt").GetDateTime();
            Assert.Equal(TimeSpan.FromSeconds(604800), ttl);
        }
    }

    [Fact]
    public async Task TheSendsOwnLocaleAndFieldsWinOverPreferencesAndTemplateDefaults()
    {
        var key = await SaveAsync(OrderShipped);
        var user = SendApi.NewUserId();
        fixture.Locales.Preferred[user] = "en";

        var response = await SendAsync(new { userId = user, template = key, variables = new { orderId = "9", name = "Ann" }, locale = "de-CH", category = "orders", priority = "low", ttlSeconds = 60 });
        await SendApi.ReadSentAsync(response);

        var n = await OnlyNotificationAsync(user);
        Assert.Equal("Bestellung 9 ist unterwegs", n.GetProperty("title").GetString());
        Assert.Equal("Hallo Ann!", n.GetProperty("body").GetString());
        Assert.Equal("orders", n.GetProperty("category").GetString());
        Assert.Equal("low", n.GetProperty("priority").GetString());
        Assert.Equal(TimeSpan.FromSeconds(60), n.GetProperty("expiresAt").GetDateTime() - n.GetProperty("createdAt").GetDateTime());
    }

    [Fact]
    public async Task ALiveClientGetsItsOwnRenderedText()
    {
        var key = await SaveAsync(OrderShipped);
        var (german, english) = (SendApi.NewUserId("live-de"), SendApi.NewUserId("live-en"));
        fixture.Locales.Preferred[german] = "de";
        await using var hubDe = await Server.ConnectHubAsync(Server.Tokens.User(german));
        await using var hubEn = await Server.ConnectHubAsync(Server.Tokens.User(english));
        await hubDe.InvokeAsync("Resume", 0);
        await hubEn.InvokeAsync("Resume", 0);

        await SendApi.ReadSentAsync(await SendAsync(new { userIds = new[] { german, english }, template = key, variables = new { orderId = "5" } }));

        Assert.Equal("Bestellung 5 ist unterwegs", (await hubDe.WaitForAsync("notification", _ => true)).GetProperty("title").GetString());
        Assert.Equal("Order 5 shipped", (await hubEn.WaitForAsync("notification", _ => true)).GetProperty("title").GetString());
    }

    [Fact]
    public async Task MissingVariablesWithoutADefaultAreRefusedByName()
    {
        var key = await SaveAsync(new
        {
            defaultLocale = "en",
            locales = new { en = new { title = "{{ greeting }} {{ name | default: 'you' }}", body = "Order {{ order.id }}" } },
        });
        var user = SendApi.NewUserId();
        var response = await SendAsync(new { userId = user, template = key, variables = new { name = "Ann" } });

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        var message = problem.GetProperty("errors").GetProperty("variables")[0].GetString()!;
        Assert.Contains("greeting, order", message);
        Assert.DoesNotContain("name", message.Replace("variables", ""));
        Assert.Equal(0, await SendApi.StoredCountAsync(fixture.Database, user));
    }

    [Fact]
    public async Task RenderedTextMustPassTheDirectSendLimitsNamingTheTemplateField()
    {
        var key = await SaveAsync(new
        {
            defaultLocale = "en",
            locales = new Dictionary<string, object>
            {
                ["en"] = new { title = "{{ text }}", link = "{{ url }}" },
                ["de"] = new { title = "ok", body = "{{ text }}{{ text }}" },
            },
        });
        var user = SendApi.NewUserId();
        var longText = new string('x', 2_001);

        await ProblemAssert.IsInvalidAsync(await SendAsync(new { userId = user, template = key, variables = new { text = longText, url = "https://a.example" } }), "template.locales.en.title", "a 2,001-character title");
        await ProblemAssert.IsInvalidAsync(await SendAsync(new { userId = user, template = key, variables = new { text = "", url = "https://a.example" } }), "template.locales.en.title", "an empty title");
        await ProblemAssert.IsInvalidAsync(await SendAsync(new { userId = user, template = key, variables = new { text = "ok", url = "javascript:alert(1)" } }), "template.locales.en.link", "a link that is no http(s) URL");
        await ProblemAssert.IsInvalidAsync(await SendAsync(new { userId = user, template = key, locale = "de", variables = new { text = longText } }), "template.locales.de.body", "a 4,002-character body");
        Assert.Equal(0, await SendApi.StoredCountAsync(fixture.Database, user));
    }

    public static TheoryData<string, string, string> InvalidSends => new()
    {
        { """{ "userId": "u", "template": "order", "title": "Hi" }""", "title", "a template and a title" },
        { """{ "userId": "u", "template": "order", "body": "Hi" }""", "body", "a template and a body" },
        { """{ "userId": "u", "template": "no-such-template-anywhere" }""", "template", "an unknown template" },
        { """{ "userId": "u", "template": "Order!" }""", "template", "a key that cannot exist" },
        { """{ "userId": "u", "template": "order", "variables": [1] }""", "variables", "variables that are no object" },
        { """{ "userId": "u", "template": "order", "locale": "de_AT" }""", "locale", "a locale that is no language tag" },
        { """{ "userId": "u", "title": "Hi", "variables": { "a": 1 } }""", "variables", "variables without a template" },
        { """{ "userId": "u", "title": "Hi", "locale": "de" }""", "locale", "a locale without a template" },
    };

    [Theory]
    [MemberData(nameof(InvalidSends))]
    public async Task AnInvalidTemplateSendIsRefusedNamingTheField(string json, string field, string because)
    {
        using var service = Server.CreateApiClient(Server.Tokens.Service());
        await ProblemAssert.IsInvalidAsync(await SendApi.PostAsync(service, json), field, because);
    }

    [Fact]
    public async Task ABroadcastTakesNoTemplate()
    {
        using var admin = Server.CreateApiClient(Server.Tokens.Admin());
        var response = await admin.PostAsync("/api/broadcasts", new StringContent("""{ "template": "order" }""", System.Text.Encoding.UTF8, "application/json"));
        await ProblemAssert.IsInvalidAsync(response, "template");
    }

    [Fact]
    public async Task EditingATemplateChangesNoSentNotification()
    {
        var key = await SaveAsync(OrderShipped);
        var user = SendApi.NewUserId();
        await SendApi.ReadSentAsync(await SendAsync(new { userId = user, template = key, variables = new { orderId = "1" } }));

        using var admin = Server.CreateApiClient(Server.Tokens.Admin());
        await TemplatesApiClient.SaveAsync(admin, key, Simple("Changed {{ orderId }}"));
        await SendApi.ReadSentAsync(await SendAsync(new { userId = user, template = key, variables = new { orderId = "2" } }));

        var inbox = await SendApi.InboxAsync(Server, user);
        Assert.Equal(["Changed 2", "Order 1 shipped"], inbox.Select(n => n.GetProperty("title").GetString()));
    }

    [Fact]
    public async Task AnIdempotentRetryCoversTheTemplateItsVersionTheVariablesAndTheLocale()
    {
        var key = await SaveAsync(OrderShipped);
        var user = SendApi.NewUserId();
        object Body(string orderId, string? locale = null) => new { userId = user, template = key, variables = new { orderId }, locale, idempotencyKey = "order-1" };

        var first = await SendApi.ReadSentAsync(await SendAsync(Body("1")));
        fixture.Locales.Preferred[user] = "de"; // the rendered text may change between a call and its retry: still the same request
        Assert.Equal(first, await SendApi.ReadSentAsync(await SendAsync(Body("1")), HttpStatusCode.OK));
        await ProblemAssert.IsProblemAsync(await SendAsync(Body("2")), HttpStatusCode.Conflict, "other variables");
        await ProblemAssert.IsProblemAsync(await SendAsync(Body("1", locale: "de")), HttpStatusCode.Conflict, "another locale");

        using var admin = Server.CreateApiClient(Server.Tokens.Admin());
        await TemplatesApiClient.SaveAsync(admin, key, OrderShipped);
        await ProblemAssert.IsProblemAsync(await SendAsync(Body("1")), HttpStatusCode.Conflict, "another template version");
        Assert.Equal(1, await SendApi.StoredCountAsync(fixture.Database, user));
    }
}
