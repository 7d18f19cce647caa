using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Send;

/// <summary>Sends over HTTP (API.md "Backend services: send"): what only JSON and HTTP can get wrong, the body limit, and what is stored.</summary>
public sealed class SendValidationTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const int MaxBodyBytes = 256 * 1024;

    private static readonly string[] NotificationKeys =
        ["id", "userId", "category", "title", "body", "data", "link", "priority", "broadcast", "createdAt", "expiresAt", "readAt", "collapseKey"];

    private RealtimeServer Server => fixture.Server;

    /// <summary>
    /// (what is wrong, the field it is reported under, the body as sent): only what takes HTTP and
    /// JSON to go wrong. The rules themselves (lengths, counts, links, priorities, ttl) are unit tests
    /// of SendRequestValidator (tests/Realtime.Server.Tests).
    /// </summary>
    public static TheoryData<string, string, string> InvalidBodies => new()
    {
        { "title not a string", "title", """{"userId":"u","title":5}""" },
        { "userIds not an array", "userIds", """{"userIds":"alice","title":"t"}""" },
        { "ttlSeconds not an integer", "ttlSeconds", """{"userId":"u","title":"t","ttlSeconds":1.5}""" },
        { "NUL in the title", "title", Json(new { userId = "u", title = "a\0b" }) },
        { "NUL in the body", "body", Json(new { userId = "u", title = "t", body = "a\0b" }) },
        { "NUL in userId", "userId", Json(new { userId = "a\0b", title = "t" }) },
        { "NUL in a userIds entry", "userIds", Json(new { userIds = new[] { "a", "b\0c" }, title = "t" }) },
        { "NUL in a data value", "data", Json(new { userId = "u", title = "t", data = new { k = "a\0b" } }) },
        { "NUL in a data key", "data", Json(new { userId = "u", title = "t", data = new Dictionary<string, int> { ["a\0b"] = 1 } }) },
        { "NUL in the category", "category", Json(new { userId = "u", title = "t", category = "a\0b" }) },
        { "a lone surrogate in a data value", "data", """{"userId":"u","title":"t","data":{"k":"\ud800"}}""" },
        { "a lone surrogate in a data key", "data", """{"userId":"u","title":"t","data":{"\udfff":1}}""" },
        { "a null in userIds", "userIds", """{"userIds":["a",null],"title":"t"}""" },
        { "a number jsonb cannot store (1e999999)", "data", """{"userId":"u","title":"t","data":{"n":1e999999}}""" },
        { "a number with more than 16,383 decimals (1e-16384)", "data", """{"userId":"u","title":"t","data":{"n":1e-16384}}""" },
        { "a number jsonb cannot store deep inside data", "data", """{"userId":"u","title":"t","data":{"a":[{"b":-9e131072}]}}""" },
        { "a zero with an exponent numeric refuses", "data", """{"userId":"u","title":"t","data":{"n":0e1073741823}}""" },
        { "a number PostgreSQL writes out as 20,001 digits", "data", """{"userId":"u","title":"t","data":{"n":1e20000}}""" },
        { "a lone surrogate in the title", "title", """{"userId":"u","title":"a\ud800b"}""" },
        { "a lone surrogate in the body", "body", """{"userId":"u","title":"t","body":"\udc00"}""" },
        { "a lone surrogate in the category", "category", """{"userId":"u","title":"t","category":"c\ud800"}""" },
        { "a lone surrogate in userId", "userId", """{"userId":"a\ud800","title":"t"}""" },
        { "a lone surrogate in a userIds entry", "userIds", """{"userIds":["a","\udfff"],"title":"t"}""" },
        { "a lone surrogate in the idempotencyKey", "idempotencyKey", """{"userId":"u","title":"t","idempotencyKey":"k\ud800"}""" },
        { "a control character in userId", "userId", Json(new { userId = "a\u0001b", title = "t" }) },
        { "a C1 control character in a userIds entry", "userIds", Json(new { userIds = new[] { "a", "b\u0085c" }, title = "t" }) },
        { "DEL in userId", "userId", Json(new { userId = "a\u007Fb", title = "t" }) },
        { "userId given twice", "userId", """{"userId":"bob","userId":"alice","title":"t"}""" },
        { "title given twice", "title", """{"userId":"bob","title":"a","title":"b"}""" },
        { "a key given twice inside data", "data", """{"userId":"u","title":"t","data":{"a":1,"a":2}}""" },
        { "malformed JSON", "request", "this is not json" },
        { "truncated JSON", "request", """{"userId":"u","title":"t" """ },
        { "a JSON array", "request", "[]" },
        { "JSON null", "request", "null" },
        { "an empty body", "request", "" },
    };

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task AnInvalidSendIsAnswered400NamingTheField(string fault, string field, string json)
    {
        using var client = Sender();
        var response = await SendApi.PostAsync(client, json);
        await ProblemAssert.IsInvalidAsync(response, field, because: fault);
    }

    [Fact]
    public async Task ExactlyAThousandDistinctRecipientsAreAllCreatedWithContiguousIncreasingIds()
    {
        var recipients = Recipients(1000).Select(id => $"{id}-{Guid.NewGuid():N}").ToArray();
        using var client = Sender();

        var sent = await SendApi.ReadSentAsync(await SendApi.PostAsync(client, new { userIds = recipients, title = "To a thousand" }));

        Assert.Equal(recipients, sent.Select(s => s.UserId));
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => sent[0].Id + i), sent.Select(s => s.Id));
        foreach (var recipient in new[] { recipients[0], recipients[^1] })
        {
            var inbox = await SendApi.InboxAsync(Server, recipient);
            Assert.Equal(sent.Single(s => s.UserId == recipient).Id, Assert.Single(inbox).GetProperty("id").GetInt64());
        }
    }

    [Fact]
    public async Task DuplicateRecipientsCollapseIntoOneNotificationEach()
    {
        var (a, b) = (SendApi.NewUserId("a"), SendApi.NewUserId("b"));
        using var client = Sender();

        var sent = await SendApi.ReadSentAsync(await SendApi.PostAsync(client, new { userIds = new[] { a, b, a }, title = "Once each" }));

        Assert.Equal(new[] { a, b }, sent.Select(s => s.UserId));
        Assert.Single(await SendApi.InboxAsync(Server, a));
    }

    [Fact]
    public async Task ANotificationWithOnlyTheRequiredFieldsHasEveryFieldWithNullsAndDefaults()
    {
        var user = SendApi.NewUserId();
        using var client = Sender();

        var sent = Assert.Single(await SendApi.ReadSentAsync(await SendApi.PostAsync(client, new { userId = user, title = "Bare" })));

        var item = Assert.Single(await SendApi.InboxAsync(Server, user));
        Assert.Equal(NotificationKeys.Order(), item.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(sent.Id, item.GetProperty("id").GetInt64());
        Assert.Equal(user, item.GetProperty("userId").GetString());
        Assert.Equal("general", item.GetProperty("category").GetString());
        Assert.Equal("Bare", item.GetProperty("title").GetString());
        Assert.Equal("normal", item.GetProperty("priority").GetString());
        Assert.Equal(JsonValueKind.False, item.GetProperty("broadcast").ValueKind);
        Assert.Equal(JsonValueKind.String, item.GetProperty("createdAt").ValueKind);
        foreach (var empty in new[] { "body", "data", "link", "expiresAt", "readAt", "collapseKey" })
        {
            Assert.True(item.GetProperty(empty).ValueKind == JsonValueKind.Null, $"{empty} should be null: {item}");
        }
    }

    [Fact]
    public async Task EveryFieldSentIsStoredAsSent()
    {
        var user = SendApi.NewUserId();
        using var client = Sender();

        await SendApi.ReadSentAsync(await SendApi.PostAsync(client, new
        {
            userId = user,
            title = "Your order shipped",
            body = "Order #123 is on its way",
            category = "order.shipped",
            data = new { orderId = "123", items = new[] { 1, 2 } },
            link = "https://shop.example/orders/123",
            priority = "urgent",
        }));

        var item = Assert.Single(await SendApi.InboxAsync(Server, user));
        Assert.Equal("Order #123 is on its way", item.GetProperty("body").GetString());
        Assert.Equal("order.shipped", item.GetProperty("category").GetString());
        // jsonb keeps the value, not the text: keys may come back reordered and re-spaced.
        var data = item.GetProperty("data").GetRawText();
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"orderId":"123","items":[1,2]}"""), JsonNode.Parse(data)), data);
        Assert.Equal("https://shop.example/orders/123", item.GetProperty("link").GetString());
        Assert.Equal("urgent", item.GetProperty("priority").GetString());
    }

    [Fact]
    public async Task TtlSecondsSetsExpiresAtThatManySecondsAfterCreatedAt()
    {
        var user = SendApi.NewUserId();
        using var client = Sender();

        await SendApi.ReadSentAsync(await SendApi.PostAsync(client, new { userId = user, title = "Soon gone", ttlSeconds = 86_400 }));

        var item = Assert.Single(await SendApi.InboxAsync(Server, user));
        var createdAt = item.GetProperty("createdAt").GetDateTimeOffset();
        var expiresAt = item.GetProperty("expiresAt").GetDateTimeOffset();
        Assert.Equal(TimeSpan.FromSeconds(86_400), expiresAt - createdAt);
    }

    [Fact]
    public async Task ABodyOver256KiBWithoutAContentLengthIsAnswered413()
    {
        using var client = Sender();
        using var content = new UnknownLengthContent(Encoding.UTF8.GetBytes(OversizedBody()));

        var response = await client.PostAsync(SendApi.Path, content);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task ABodyWhoseContentLengthIsOver256KiBIsAnswered413()
    {
        using var client = Sender();
        var body = OversizedBody();

        var response = await SendApi.PostAsync(client, body);

        Assert.True(Encoding.UTF8.GetByteCount(body) > MaxBodyBytes);
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
    }

    private HttpClient Sender() => Server.CreateApiClient(Server.Tokens.Service());

    private static string Json(object body) => JsonSerializer.Serialize(body);

    private static string[] Recipients(int count) => Enumerable.Range(0, count).Select(i => $"r{i}").ToArray();

    /// <summary>About 300 KB of otherwise valid JSON.</summary>
    private static string OversizedBody() => Json(new { userId = "u", title = "t", body = new string('b', 300_000) });

    /// <summary>Content the client must send chunked: it will not say its length up front.</summary>
    private sealed class UnknownLengthContent(byte[] bytes) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) =>
            stream.WriteAsync(bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
