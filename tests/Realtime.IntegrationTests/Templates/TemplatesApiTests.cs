using System.Net;
using System.Text.Json;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;
using static Realtime.IntegrationTests.Templates.TemplatesApiClient;

namespace Realtime.IntegrationTests.Templates;

/// <summary>API.md "Templates": create, replace, read, list, delete; who may; what is refused, naming the field.</summary>
public sealed class TemplatesApiTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RealtimeServer Server => fixture.Server;

    private HttpClient Admin() => Server.CreateApiClient(Server.Tokens.Admin());

    private static readonly object OrderShipped = new
    {
        category = "order.shipped",
        priority = "HIGH",
        ttlSeconds = 604800,
        defaultLocale = "en",
        locales = new Dictionary<string, object>
        {
            ["en"] = new { title = "Order {{ orderId }} shipped", body = "Hi {{ name | default: \"there\" }}, it is on its way.", link = "https://shop.example/orders/{{ orderId }}" },
            ["de"] = new { title = "Bestellung {{ orderId }} ist unterwegs", body = "Hallo {{ name | default: \"du\" }}!" },
        },
    };

    [Fact]
    public async Task ATemplateIsCreatedReplacedReadListedAndDeletedWithItsVersionCountingEveryChange()
    {
        using var admin = Admin();
        var key = NewKey("order-shipped");

        var created = await PutAsync(admin, key, OrderShipped);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal($"/api/templates/{key}", created.Headers.Location?.OriginalString);
        var body = await ReadJsonAsync(created);
        Assert.Equal(key, body.GetProperty("key").GetString());
        Assert.Equal(1, body.GetProperty("version").GetInt32());
        Assert.Equal("high", body.GetProperty("priority").GetString());
        Assert.Equal(604800, body.GetProperty("ttlSeconds").GetInt64());
        Assert.Equal(["en", "de"], body.GetProperty("locales").EnumerateObject().Select(p => p.Name));
        Assert.Equal("Order {{ orderId }} shipped", body.GetProperty("locales").GetProperty("en").GetProperty("title").GetString());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("locales").GetProperty("de").GetProperty("link").ValueKind);

        var replaced = await PutAsync(admin, key, Simple("Shipped: {{ orderId }}"));
        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
        Assert.Equal(2, (await ReadJsonAsync(replaced)).GetProperty("version").GetInt32());

        var read = await admin.GetAsync($"{TemplatesPath}/{key}");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        var current = await ReadJsonAsync(read);
        Assert.Equal(2, current.GetProperty("version").GetInt32());
        Assert.Equal(JsonValueKind.Null, current.GetProperty("category").ValueKind);
        Assert.Equal("Shipped: {{ orderId }}", current.GetProperty("locales").GetProperty("en").GetProperty("title").GetString());

        var list = await ReadJsonAsync(await admin.GetAsync($"{TemplatesPath}?limit=500"));
        Assert.Contains(list.GetProperty("items").EnumerateArray(), t => t.GetProperty("key").GetString() == key);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"{TemplatesPath}/{key}")).StatusCode);
        await ProblemAssert.IsProblemAsync(await admin.GetAsync($"{TemplatesPath}/{key}"), HttpStatusCode.NotFound);
        await ProblemAssert.IsProblemAsync(await admin.DeleteAsync($"{TemplatesPath}/{key}"), HttpStatusCode.NotFound);
        var list2 = await ReadJsonAsync(await admin.GetAsync($"{TemplatesPath}?limit=500"));
        Assert.DoesNotContain(list2.GetProperty("items").EnumerateArray(), t => t.GetProperty("key").GetString() == key);

        // Made again: created, and its version counts on (a version names one content for ever).
        var again = await PutAsync(admin, key, Simple("Back"));
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.Equal(4, (await ReadJsonAsync(again)).GetProperty("version").GetInt32());
    }

    [Fact]
    public async Task TheListPagesInKeyOrder()
    {
        using var admin = Admin();
        var prefix = NewKey("page")[..20];
        foreach (var suffix in new[] { "c", "a", "b" })
        {
            await SaveAsync(admin, $"{prefix}-{suffix}", Simple("x"));
        }
        var first = await ReadJsonAsync(await admin.GetAsync($"{TemplatesPath}?limit=2&after={prefix}"));
        Assert.Equal([$"{prefix}-a", $"{prefix}-b"], first.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("key").GetString()));
        Assert.Equal($"{prefix}-b", first.GetProperty("nextAfter").GetString());
        var second = await ReadJsonAsync(await admin.GetAsync($"{TemplatesPath}?limit=1&after={prefix}-b"));
        Assert.Equal($"{prefix}-c", second.GetProperty("items")[0].GetProperty("key").GetString());
        await ProblemAssert.IsInvalidAsync(await admin.GetAsync($"{TemplatesPath}?limit=0"), "limit");
    }

    [Fact]
    public async Task OnlyAdminsAndTheTemplatesWriteScopeMayReadOrWriteTemplates()
    {
        var key = NewKey("auth");
        var document = Simple("Hi");
        using (var anonymous = Server.CreateApiClient())
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await PutAsync(anonymous, key, document)).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(TemplatesPath)).StatusCode);
        }
        foreach (var token in new[] { Server.Tokens.User("alice"), Server.Tokens.Service(), Server.Tokens.Mint("svc", scope: "notifications:broadcast") })
        {
            using var client = Server.CreateApiClient(token);
            Assert.Equal(HttpStatusCode.Forbidden, (await PutAsync(client, key, document)).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync(TemplatesPath)).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync($"{TemplatesPath}/{key}")).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await client.DeleteAsync($"{TemplatesPath}/{key}")).StatusCode);
        }
        using (var scoped = Server.CreateApiClient(Server.Tokens.Mint("cms", scope: "notifications:send templates:write")))
        {
            Assert.Equal(HttpStatusCode.Created, (await PutAsync(scoped, key, document)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await scoped.GetAsync($"{TemplatesPath}/{key}")).StatusCode);
        }
        using var admin = Admin();
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(admin, key, document)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"{TemplatesPath}/{key}")).StatusCode);
    }

    public static TheoryData<string, string, string> InvalidTemplates => new()
    {
        { """{ "defaultLocale": "en", "locales": { "en": { "body": "no title" } } }""", "locales.en.title", "a locale without a title" },
        { """{ "defaultLocale": "en", "locales": { "en": { "title": "" } } }""", "locales.en.title", "an empty title" },
        { """{ "defaultLocale": "en", "locales": { "en": { "title": "ok" }, "de": { "title": "ok", "body": "Hallo {{ name " } } }""", "locales.de.body", "a body that does not parse" },
        { """{ "defaultLocale": "en", "locales": { "en": { "title": "{% if x %}open" } } }""", "locales.en.title", "an unclosed if" },
        { """{ "defaultLocale": "en", "locales": { "en": { "title": "ok", "link": "{% include 'x' %}" } } }""", "locales.en.link", "an include (file access)" },
        { """{ "defaultLocale": "en", "locales": { "en": { "title": "{{ x | shout }}" } } }""", "locales.en.title", "an unknown filter" },
        { """{ "defaultLocale": "fr", "locales": { "en": { "title": "ok" } } }""", "defaultLocale", "a default locale without texts" },
        { """{ "locales": { "en": { "title": "ok" } } }""", "defaultLocale", "no default locale" },
        { """{ "defaultLocale": "en" }""", "locales", "no locales" },
        { """{ "defaultLocale": "en", "locales": {} }""", "locales", "empty locales" },
        { """{ "defaultLocale": "en", "locales": { "en": { "title": "ok" }, "de_AT": { "title": "ok" } } }""", "locales.de_AT", "a locale that is no language tag" },
        { """{ "defaultLocale": "en", "locales": { "en": { "title": "ok" }, "EN": { "title": "ok" } } }""", "locales.EN", "a locale given twice" },
        { """{ "defaultLocale": "en", "locales": { "en": { "title": "ok", "titel": "typo" } } }""", "locales.en.titel", "an unknown field in a locale" },
        { """{ "defaultLocale": "en", "colour": "red", "locales": { "en": { "title": "ok" } } }""", "colour", "an unknown field" },
        { """{ "defaultLocale": "en", "priority": "asap", "locales": { "en": { "title": "ok" } } }""", "priority", "an unknown priority" },
        { """{ "defaultLocale": "en", "ttlSeconds": 0, "locales": { "en": { "title": "ok" } } }""", "ttlSeconds", "a TTL of 0" },
        { """{ "defaultLocale": "en", "ttlSeconds": "long", "locales": { "en": { "title": "ok" } } }""", "ttlSeconds", "a TTL that is no number" },
        { """{ "defaultLocale": "en", "category": "", "locales": { "en": { "title": "ok" } } }""", "category", "an empty category" },
        { """{ "defaultLocale": "en", "locales": { "en": { "title": "a\u0000b" } } }""", "locales.en.title", "a NUL character" },
        { """[1]""", "request", "not an object" },
    };

    [Theory]
    [MemberData(nameof(InvalidTemplates))]
    public async Task AnInvalidTemplateIsRefusedNamingTheFieldAtFault(string json, string field, string because)
    {
        using var admin = Admin();
        var key = NewKey("invalid");
        await ProblemAssert.IsInvalidAsync(await PutAsync(admin, key, json), field, because);
        await ProblemAssert.IsProblemAsync(await admin.GetAsync($"{TemplatesPath}/{key}"), HttpStatusCode.NotFound, "nothing was stored");
    }

    [Fact]
    public async Task AParseErrorNamesTheLocaleTheFieldAndTheError()
    {
        using var admin = Admin();
        var response = await PutAsync(admin, NewKey("parse"), """{ "defaultLocale": "en", "locales": { "en": { "title": "ok" }, "de": { "title": "ok", "body": "Hallo {{ name " } } }""");
        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        var message = problem.GetProperty("errors").GetProperty("locales.de.body")[0].GetString()!;
        Assert.Contains("locales.de.body", message);
        Assert.Contains("'}}' was expected", message);
    }

    [Theory]
    [InlineData("Upper")]
    [InlineData("with space")]
    [InlineData("a/b")]
    public async Task AKeyOutsideTheAllowedCharactersIsRefused(string key)
    {
        using var admin = Admin();
        var response = await admin.PutAsync($"{TemplatesPath}/{Uri.EscapeDataString(key)}", new StringContent(JsonSerializer.Serialize(Simple("x")), System.Text.Encoding.UTF8, "application/json"));
        await ProblemAssert.IsInvalidAsync(response, "key", key);
    }

    [Fact]
    public async Task AKeyOfOneHundredCharactersIsTheLongest()
    {
        using var admin = Admin();
        var longest = new string('k', 99) + Guid.NewGuid().ToString("N")[..1];
        Assert.Equal(HttpStatusCode.Created, (await PutAsync(admin, longest, Simple("x"))).StatusCode);
        await ProblemAssert.IsInvalidAsync(await PutAsync(admin, longest + "x", Simple("x")), "key");
    }

    [Fact]
    public async Task TheEndpointsAppearInTheOpenApiDocument()
    {
        using var anonymous = Server.CreateApiClient();
        var document = JsonDocument.Parse(await anonymous.GetStringAsync("/openapi/v1.json")).RootElement;
        var paths = document.GetProperty("paths");
        Assert.True(paths.TryGetProperty("/api/templates", out var list), "GET /api/templates is documented");
        Assert.True(list.TryGetProperty("get", out _));
        Assert.True(paths.TryGetProperty("/api/templates/{key}", out var one), "/api/templates/{key} is documented");
        Assert.Equal(["delete", "get", "put"], one.EnumerateObject().Select(p => p.Name).Where(n => n is "get" or "put" or "delete").Order());
    }
}
