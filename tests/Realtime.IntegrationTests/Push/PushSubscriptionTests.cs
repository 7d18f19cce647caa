using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;
using Realtime.Server.Push;
using static Realtime.IntegrationTests.Infrastructure.Eventually;

namespace Realtime.IntegrationTests.Push;

/// <summary>A node with the production rules for endpoints (https, public hosts only), and a fake push service beside it.</summary>
public sealed class SecurePushFixture : ServerFixture, IAsyncLifetime
{
    public FakePushService PushService { get; private set; } = null!;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Push:PlanningDelayMilliseconds"] = "200",
        ["Push:PollIntervalMilliseconds"] = "50",
        ["Push:MaxSubscriptionsPerUser"] = "3",
    };

    public new async Task InitializeAsync()
    {
        await base.InitializeAsync();
        PushService = await FakePushService.StartAsync();
    }

    public new async Task DisposeAsync()
    {
        await PushService.DisposeAsync();
        await base.DisposeAsync();
    }
}

/// <summary>
/// <c>/api/push/*</c> as a page and an attacker would call it: the VAPID key, subscribing (201 new,
/// 200 again, the endpoint moves to the caller, a cap per user), unsubscribing (only one's own), a
/// 400 naming the field for every bad input and never a 500, and no endpoint that points into the
/// server's own network, by name, by address or by what its name resolves to.
/// </summary>
public sealed class PushSubscriptionTests(SecurePushFixture fixture) : IClassFixture<SecurePushFixture>
{
    private const string PublicEndpoint = "https://push.example.net/wpush/v2/";

    private RealtimeServer Server => fixture.Server;

    [Fact]
    public async Task TheVapidPublicKeyNeedsNoTokenAndIsAnUncompressedP256Point()
    {
        var key = await PushApiClient.VapidPublicKeyAsync(Server.CreateApiClient());
        var point = System.Buffers.Text.Base64Url.DecodeFromChars(key);
        Assert.Equal(65, point.Length);
        Assert.Equal(4, point[0]);
        Assert.Null(SubscriptionRequest.CheckP256dh(key));
        Assert.Equal(key, await PushApiClient.VapidPublicKeyAsync(Server.CreateApiClient()));
    }

    [Fact]
    public async Task SubscribingIsCreatedThenOkAndNeedsAToken()
    {
        var subscriber = Subscriber();
        using var anonymous = Server.CreateApiClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/api/push/subscriptions", subscriber.ToJson())).StatusCode);

        using var alice = UserClient(out _);
        var created = await alice.PostAsJsonAsync("/api/push/subscriptions", subscriber.ToJson());
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(subscriber.Endpoint, (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("endpoint").GetString());
        Assert.Equal(HttpStatusCode.OK, (await alice.PostAsJsonAsync("/api/push/subscriptions", subscriber.ToJson())).StatusCode);
        Assert.Equal(1, await PushApiClient.SubscriptionCountAsync(fixture.Database, subscriber.Endpoint));
    }

    [Fact]
    public async Task TheSameEndpointPostedByAnotherUserMovesToThatUser()
    {
        var endpoint = PublicEndpoint + Guid.NewGuid().ToString("N");
        using var alice = UserClient(out var aliceId);
        using var bob = UserClient(out var bobId);
        using var first = new FakeSubscriber("a", endpoint);
        using var second = new FakeSubscriber("b", endpoint);
        Assert.Equal(HttpStatusCode.Created, (await PushApiClient.SubscribeAsync(alice, first)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PushApiClient.SubscribeAsync(bob, second)).StatusCode);

        await using var connection = await fixture.Database.OpenAsync();
        var row = await Dapper.SqlMapper.QuerySingleAsync<(string UserId, string P256dh)>(connection,
            "SELECT user_id, p256dh FROM push_subscriptions WHERE endpoint = @endpoint", new { endpoint });
        Assert.Equal(bobId, row.UserId);
        Assert.Equal(second.P256dh, row.P256dh);

        // Alice no longer owns it: her unsubscribe removes nothing; Bob's does.
        Assert.Equal(HttpStatusCode.NoContent, (await PushApiClient.UnsubscribeAsync(alice, endpoint)).StatusCode);
        Assert.Equal(1, await PushApiClient.SubscriptionCountAsync(fixture.Database, endpoint));
        Assert.Equal(HttpStatusCode.NoContent, (await PushApiClient.UnsubscribeAsync(bob, endpoint)).StatusCode);
        Assert.Equal(0, await PushApiClient.SubscriptionCountAsync(fixture.Database, endpoint));
        _ = aliceId;
    }

    [Fact]
    public async Task AnotherUsersDeleteRemovesNothingAndDeleteAlwaysAnswers204()
    {
        var subscriber = Subscriber();
        using var alice = UserClient(out _);
        using var mallory = UserClient(out _);
        await PushApiClient.SubscribeAsync(alice, subscriber);

        Assert.Equal(HttpStatusCode.NoContent, (await PushApiClient.UnsubscribeAsync(mallory, subscriber.Endpoint)).StatusCode);
        Assert.Equal(1, await PushApiClient.SubscriptionCountAsync(fixture.Database, subscriber.Endpoint));
        Assert.Equal(HttpStatusCode.NoContent, (await PushApiClient.UnsubscribeAsync(alice, PublicEndpoint + "never-stored")).StatusCode);

        var missing = await alice.DeleteAsync("/api/push/subscriptions");
        await AssertInvalidAsync(missing, "endpoint");
    }

    [Fact]
    public async Task BeyondTheCapTheLeastRecentlySubscribedGoes()
    {
        using var alice = UserClient(out var userId);
        var subscribers = Enumerable.Range(0, 4).Select(_ => Subscriber()).ToList();
        foreach (var subscriber in subscribers)
        {
            Assert.Equal(HttpStatusCode.Created, (await PushApiClient.SubscribeAsync(alice, subscriber)).StatusCode);
        }
        Assert.Equal(0, await PushApiClient.SubscriptionCountAsync(fixture.Database, subscribers[0].Endpoint));
        foreach (var kept in subscribers.Skip(1))
        {
            Assert.Equal(1, await PushApiClient.SubscriptionCountAsync(fixture.Database, kept.Endpoint));
        }
        _ = userId;
    }

    public static TheoryData<string, string> InvalidBodies()
    {
        var good = Subscriber();
        string With(string endpoint = "GOOD", string p256dh = "GOOD", string auth = "GOOD", string expiration = "null") =>
            "{\"endpoint\":" + (endpoint == "GOOD" ? Json(good.Endpoint) : endpoint) + ",\"expirationTime\":" + expiration +
            ",\"keys\":{\"p256dh\":" + (p256dh == "GOOD" ? Json(good.P256dh) : p256dh) + ",\"auth\":" + (auth == "GOOD" ? Json(good.Auth) : auth) + "}}";
        var offCurve = System.Buffers.Text.Base64Url.EncodeToString([4, .. Enumerable.Repeat((byte)1, 64)]);
        var compressed = System.Buffers.Text.Base64Url.EncodeToString([2, .. Enumerable.Repeat((byte)7, 32)]);
        var shortPoint = System.Buffers.Text.Base64Url.EncodeToString([4, .. Enumerable.Repeat((byte)7, 63)]);
        var fifteen = System.Buffers.Text.Base64Url.EncodeToString(new byte[15]);
        var seventeen = System.Buffers.Text.Base64Url.EncodeToString(new byte[17]);
        return new TheoryData<string, string>
        {
            { "not json", "request" },
            { "[]", "request" },
            { "\"a string\"", "request" },
            { "{}", "endpoint" },
            { With(endpoint: "5"), "endpoint" },
            { With(endpoint: "null"), "endpoint" },
            { With(endpoint: Json("not a url")), "endpoint" },
            { With(endpoint: Json("/relative/path")), "endpoint" },
            { With(endpoint: Json("ftp://push.example.net/x")), "endpoint" },
            { With(endpoint: Json("https://push.example.net/\u0000")), "endpoint" },
            { With(endpoint: Json(PublicEndpoint + new string('a', 2100))), "endpoint" },
            { With(endpoint: Json("https://user:secret@push.example.net/x")), "endpoint" },
            { $$"""{"endpoint":{{Json(good.Endpoint)}}}""", "keys" },
            { $$"""{"endpoint":{{Json(good.Endpoint)}},"keys":[]}""", "keys" },
            { With(p256dh: "42"), "keys.p256dh" },
            { With(p256dh: Json("not base64url!")), "keys.p256dh" },
            { With(p256dh: Json(offCurve)), "keys.p256dh" },
            { With(p256dh: Json(compressed)), "keys.p256dh" },
            { With(p256dh: Json(shortPoint)), "keys.p256dh" },
            { With(p256dh: Json(new string('A', 300))), "keys.p256dh" },
            { With(auth: Json(fifteen)), "keys.auth" },
            { With(auth: Json(seventeen)), "keys.auth" },
            { With(auth: "true"), "keys.auth" },
            { With(auth: Json("")), "keys.auth" },
            { With(expiration: Json("soon")), "expirationTime" },
            { With(expiration: "-1"), "expirationTime" },
            { With(expiration: "1e300"), "expirationTime" },
        };
    }

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task ABadSubscriptionIsA400NamingTheField(string body, string field)
    {
        using var alice = UserClient(out _);
        var response = await alice.PostAsync("/api/push/subscriptions", new StringContent(body, Encoding.UTF8, "application/json"));
        await AssertInvalidAsync(response, field);
    }

    [Theory]
    [InlineData("http://push.example.net/x")]
    [InlineData("https://127.0.0.1/x")]
    [InlineData("https://127.1.2.3:8443/x")]
    [InlineData("https://10.0.0.8/x")]
    [InlineData("https://172.20.1.1/x")]
    [InlineData("https://192.168.1.1/x")]
    [InlineData("https://100.64.0.1/x")]
    [InlineData("https://169.254.169.254/latest/meta-data/")]
    [InlineData("https://0.0.0.0/x")]
    [InlineData("https://[::1]/x")]
    [InlineData("https://[::]/x")]
    [InlineData("https://[fd00::1]/x")]
    [InlineData("https://[fe80::1]/x")]
    [InlineData("https://[::ffff:127.0.0.1]/x")]
    [InlineData("https://[::ffff:a9fe:a9fe]/x")]
    [InlineData("https://[64:ff9b::a00:1]/x")]
    [InlineData("https://localhost/x")]
    [InlineData("https://LOCALHOST./x")]
    [InlineData("https://push.localhost/x")]
    [InlineData("https://intranet/x")]
    [InlineData("https://2130706433/x")]
    [InlineData("https://0x7f.0.0.1/x")]
    [InlineData("https://0177.0.0.1/x")]
    public async Task AnEndpointIntoTheServersOwnNetworkIsRefused(string endpoint)
    {
        using var alice = UserClient(out _);
        using var subscriber = new FakeSubscriber("ssrf", endpoint);
        var response = await alice.PostAsJsonAsync("/api/push/subscriptions", subscriber.ToJson());
        await AssertInvalidAsync(response, "endpoint");
        Assert.Equal(0, await PushApiClient.SubscriptionCountAsync(fixture.Database, endpoint));
    }

    [Fact]
    public async Task AHostNameThatResolvesToLoopbackIsRefusedWhenThePushGoesOut()
    {
        // The name passes the checks by name; at send time it resolves to 127.0.0.1, where the fake push service listens.
        var guard = Server.Services.GetRequiredService<EndpointGuard>();
        const string RebindingHost = "push.rebinding.example";
        var original = guard.Resolve;
        guard.Resolve = (host, ct) => host == RebindingHost ? Task.FromResult(new[] { IPAddress.Loopback }) : original(host, ct);
        try
        {
            var port = new Uri(fixture.PushService.BaseAddress).Port;
            var subscriber = fixture.PushService.NewSubscriber(endpointOverride: $"https://{RebindingHost}:{port}/push/rebound");
            using var alice = UserClient(out var userId);
            Assert.Equal(HttpStatusCode.Created, (await PushApiClient.SubscribeAsync(alice, subscriber)).StatusCode);

            var id = await Server.SendAsync(userId, "Should never reach loopback");
            var job = (await WaitUntilAsync(() => PushApiClient.JobsAsync(fixture.Database, id), jobs => jobs.Count == 1 && jobs[0].State == "failed",
                TimeSpan.FromSeconds(15), "the push refused", jobs => string.Join("; ", jobs))).Single();
            Assert.Contains("127.0.0.1", job.LastError);
            Assert.Empty(fixture.PushService.Received);
        }
        finally
        {
            guard.Resolve = original;
        }
    }

    [Fact]
    public async Task NoInputToThePushEndpointsIsAServerError()
    {
        using var alice = UserClient(out _);
        var random = new Random(20261130);
        var good = Subscriber();
        string[] fragments =
        [
            "null", "true", "0", "-1", "1e999", "\"\"", "\"\\u0000\"", "[]", "{}", "[[[[[[[[[[]]]]]]]]]]", "\"\\ud800\"",
            Json(good.Endpoint), Json(good.P256dh), Json(good.Auth), Json("https://push.example.net/" + new string('€', 700)),
            Json("https://[::1"), Json("https://%00/"), Json("https://xn--/"), Json("https://" + new string('a', 300) + ".example/"),
        ];
        string Any() => fragments[random.Next(fragments.Length)];
        for (var i = 0; i < 150; i++)
        {
            var keys = random.Next(4) == 0 ? Any() : "{\"p256dh\":" + Any() + ",\"auth\":" + Any() + (random.Next(2) == 0 ? ",\"x\":" + Any() : "") + "}";
            var body = random.Next(6) switch
            {
                0 => Any(),
                1 => Encoding.Latin1.GetString(Enumerable.Range(0, random.Next(1, 64)).Select(_ => (byte)random.Next(256)).ToArray()),
                _ => "{\"endpoint\":" + Any() + ",\"expirationTime\":" + Any() + ",\"keys\":" + keys + "}",
            };
            var response = await alice.PostAsync("/api/push/subscriptions", new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.True((int)response.StatusCode is 200 or 201 or 400 or 413, $"{(int)response.StatusCode} for {body}: {await response.Content.ReadAsStringAsync()}");

            var endpoint = random.Next(3) == 0 ? Any() : new string((char)random.Next(1, 0xD7FF), random.Next(0, 3000));
            var deleted = await alice.DeleteAsync("/api/push/subscriptions?endpoint=" + Uri.EscapeDataString(endpoint));
            Assert.True((int)deleted.StatusCode is 204 or 400 or 414, $"{(int)deleted.StatusCode} for DELETE {endpoint}");
        }
        var huge = await alice.PostAsync("/api/push/subscriptions", new StringContent(new string(' ', 20_000) + "{}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        var empty = await alice.PostAsync("/api/push/subscriptions", new StringContent("", Encoding.UTF8, "application/json"));
        await AssertInvalidAsync(empty, "request");
    }

    /// <summary>A 400 problem whose errors name <paramref name="field"/> (other fields may be named beside it).</summary>
    private static async Task AssertInvalidAsync(HttpResponseMessage response, string field)
    {
        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, $"expected errors for {field}");
        Assert.True(problem.TryGetProperty("errors", out var errors) && errors.TryGetProperty(field, out _), $"Expected errors for '{field}': {problem}");
    }

    private HttpClient UserClient(out string userId)
    {
        userId = "push-user-" + Guid.NewGuid().ToString("N")[..10];
        return Server.CreateApiClient(Server.Tokens.User(userId));
    }

    private static FakeSubscriber Subscriber() => new("public", PublicEndpoint + Guid.NewGuid().ToString("N"));

    private static string Json(string value) => JsonSerializer.Serialize(value);
}
