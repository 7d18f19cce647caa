using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Demo;

public sealed class DemoPageFixture : ServerFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Realtime:DemoPage"] = "true" };
}

/// <summary>With <c>Realtime__DemoPage=true</c>: the page, its files and the dev-token endpoint.</summary>
public sealed class DemoPageTests(DemoPageFixture fixture) : IClassFixture<DemoPageFixture>
{
    [Theory]
    [InlineData("/", "text/html", "<title>Realtime demo</title>")]
    [InlineData("/demo/demo.js", "text/javascript", "createClient")]
    [InlineData("/demo/realtime-client.js", "text/javascript", "notifications/stream")]
    [InlineData("/sw.js", "text/javascript", "notificationclick")]
    [InlineData("/demo/demo.css", "text/css", ".badge")]
    public async Task ThePageAndItsFilesAreServedWithoutAToken(string path, string contentType, string contains)
    {
        using var client = fixture.Server.CreateApiClient();
        var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(contentType, response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(contains, await response.Content.ReadAsStringAsync());
        Assert.NotNull(response.Headers.ETag);
    }

    [Fact]
    public async Task AFileIsNotSentAgainWhenItsETagMatches()
    {
        using var client = fixture.Server.CreateApiClient();
        var first = await client.GetAsync("/demo/demo.js");
        using var again = new HttpRequestMessage(HttpMethod.Get, "/demo/demo.js");
        again.Headers.IfNoneMatch.Add(first.Headers.ETag!);

        var response = await client.SendAsync(again);

        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
    }

    [Fact]
    public async Task AnUnknownFileIsNotFound()
    {
        using var client = fixture.Server.CreateApiClient();
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/demo/nothing.js")).StatusCode);
    }

    [Fact]
    public async Task ADemoTokenIsAcceptedByTheApiForThatUser()
    {
        using var anonymous = fixture.Server.CreateApiClient();
        var response = await anonymous.PostAsJsonAsync("/api/demo/token", new { userId = "demo-ann" });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("demo-ann", body.GetProperty("userId").GetString());
        Assert.False(body.GetProperty("admin").GetBoolean());
        var expiresAt = body.GetProperty("expiresAt").GetDateTimeOffset();
        Assert.InRange(expiresAt - fixture.Server.Time.GetUtcNow(), TimeSpan.FromMinutes(59), TimeSpan.FromMinutes(61));

        var id = await fixture.Server.SendAsync("demo-ann", "for the demo user");
        using var user = fixture.Server.CreateApiClient(body.GetProperty("token").GetString());
        var inbox = await user.GetFromJsonAsync<JsonElement>("/api/notifications");
        Assert.Equal(id, inbox.GetProperty("items")[0].GetProperty("id").GetInt64());
        Assert.Equal(HttpStatusCode.Forbidden, (await user.GetAsync("/api/admin/stats")).StatusCode);
    }

    [Fact]
    public async Task AnAdminDemoTokenMayBroadcastSendAndReadStats()
    {
        using var anonymous = fixture.Server.CreateApiClient();
        var response = await anonymous.PostAsJsonAsync("/api/demo/token", new { userId = "demo-admin", admin = true, ttlSeconds = 60 });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        using var admin = fixture.Server.CreateApiClient(body.GetProperty("token").GetString());

        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/admin/stats")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/broadcasts", new { title = "demo notice" })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/notifications", new { userId = "demo-ann", title = "from the admin" })).StatusCode);
    }

    [Theory]
    [InlineData("{}", "userId")]
    [InlineData("{\"userId\":\"\"}", "userId")]
    [InlineData("{\"userId\":\"a\\u0000b\"}", "userId")]
    [InlineData("{\"userId\":\"a\\ud800b\"}", "userId")]
    [InlineData("{\"userId\":\"ann\",\"ttlSeconds\":0}", "ttlSeconds")]
    [InlineData("{\"userId\":\"ann\",\"ttlSeconds\":864000}", "ttlSeconds")]
    public async Task AnInvalidTokenRequestIsA400NamingTheField(string json, string field)
    {
        using var client = fixture.Server.CreateApiClient();
        var response = await client.PostAsync("/api/demo/token", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Fact]
    public async Task ATooLongUserIdIsA400()
    {
        using var client = fixture.Server.CreateApiClient();
        var response = await client.PostAsJsonAsync("/api/demo/token", new { userId = new string('x', 201) });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task ABodyThatIsNotJsonIsA400()
    {
        using var client = fixture.Server.CreateApiClient();
        var response = await client.PostAsync("/api/demo/token", new StringContent("{not json", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}

/// <summary>By default (production) neither the page nor the token endpoint exists.</summary>
public sealed class DemoPageOffTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Theory]
    [InlineData("/")]
    [InlineData("/demo/demo.js")]
    [InlineData("/sw.js")]
    public async Task ThePageIsNotServed(string path)
    {
        using var client = fixture.Server.CreateApiClient(fixture.Server.Tokens.User("someone"));
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(path)).StatusCode);
    }

    [Fact]
    public async Task TheTokenEndpointDoesNotHandOutTokens()
    {
        using var client = fixture.Server.CreateApiClient();
        var response = await client.PostAsJsonAsync("/api/demo/token", new { userId = "mallory", admin = true });
        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("token", await response.Content.ReadAsStringAsync());
    }
}
