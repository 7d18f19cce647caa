using System.Text;
using System.Text.Json;
using Realtime.Server.Notifications;

namespace Realtime.Server.Tests.Notifications;

/// <summary>The send rules of API.md ("Backend services: send"), each with a boundary on both sides.</summary>
public sealed class SendRequestValidatorTests
{
    private static SendRequest Minimal() => new() { UserId = "alice", Title = "Hello" };

    private static ValidatedSend AssertValid(SendRequest request)
    {
        var (send, errors) = SendRequestValidator.Validate(request);
        Assert.Empty(errors);
        Assert.NotNull(send);
        return send;
    }

    /// <summary>Exactly one field is at fault, keyed by its camelCase name, and nothing is sent.</summary>
    private static void AssertInvalid(SendRequest request, string field)
    {
        var (send, errors) = SendRequestValidator.Validate(request);
        Assert.Null(send);
        Assert.Equal(new[] { field }, errors.Keys);
        var message = Assert.Single(errors[field]);
        Assert.False(string.IsNullOrWhiteSpace(message));
    }

    private static void AssertValidity(SendRequest request, bool valid, string field)
    {
        if (valid)
        {
            AssertValid(request);
        }
        else
        {
            AssertInvalid(request, field);
        }
    }

    private static JsonElement Json(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    private static List<string?> UserIds(int count) => Enumerable.Range(1, count).Select(i => (string?)$"user-{i}").ToList();

    // --- a valid request and its defaults ---

    [Fact]
    public void AMinimalRequestIsValidAndGetsTheDefaults()
    {
        var send = AssertValid(Minimal());

        Assert.Equal(new[] { "alice" }, send.UserIds);
        Assert.Equal("Hello", send.Title);
        Assert.Null(send.Body);
        Assert.Equal("general", send.Category);
        Assert.Null(send.DataJson);
        Assert.Null(send.Link);
        Assert.Equal("normal", send.Priority);
        Assert.Null(send.TtlSeconds);
        Assert.Null(send.IdempotencyKey);
    }

    [Fact]
    public void AFullRequestIsValidAndKeepsEveryField()
    {
        var send = AssertValid(new SendRequest
        {
            UserIds = ["alice", "bob"],
            Title = "Your order shipped",
            Body = "Order #123 is on its way",
            Category = "order.shipped",
            Data = Json("""{ "orderId": "123" }"""),
            Link = "https://shop.example/orders/123",
            Priority = "high",
            TtlSeconds = 86_400,
            IdempotencyKey = "order-123-shipped",
        });

        Assert.Equal(new[] { "alice", "bob" }, send.UserIds);
        Assert.Equal("Your order shipped", send.Title);
        Assert.Equal("Order #123 is on its way", send.Body);
        Assert.Equal("order.shipped", send.Category);
        Assert.Equal("""{"orderId":"123"}""", send.DataJson);
        Assert.Equal("https://shop.example/orders/123", send.Link);
        Assert.Equal("high", send.Priority);
        Assert.Equal(86_400, send.TtlSeconds);
        Assert.Equal("order-123-shipped", send.IdempotencyKey);
    }

    [Fact]
    public void EveryFieldAtFaultIsReportedAtOnce()
    {
        var (send, errors) = SendRequestValidator.Validate(new SendRequest
        {
            Title = "",
            Body = new string('b', 4_001),
            Category = "",
            Data = Json("[]"),
            Link = "ftp://x",
            Priority = "critical",
            TtlSeconds = 0,
            IdempotencyKey = "",
        });

        Assert.Null(send);
        Assert.Equal(
            new[] { "body", "category", "data", "idempotencyKey", "link", "priority", "title", "ttlSeconds", "userIds" },
            errors.Keys.Order(StringComparer.Ordinal));
    }

    // --- recipients ---

    [Fact]
    public void NeitherUserIdNorUserIdsIsAnErrorOnUserIds() =>
        AssertInvalid(new SendRequest { Title = "Hello" }, "userIds");

    [Fact]
    public void AnEmptyUserIdsListIsAnError() =>
        AssertInvalid(new SendRequest { UserIds = [], Title = "Hello" }, "userIds");

    [Fact]
    public void BothUserIdAndUserIdsIsAnErrorOnUserIds() =>
        AssertInvalid(new SendRequest { UserId = "alice", UserIds = ["bob"], Title = "Hello" }, "userIds");

    [Theory]
    [InlineData(1, true)]
    [InlineData(200, true)]
    [InlineData(0, false)]
    [InlineData(201, false)]
    public void AUserIdIsOneTo200Characters(int length, bool valid) =>
        AssertValidity(new SendRequest { UserId = new string('u', length), Title = "Hello" }, valid, "userId");

    [Theory]
    [InlineData(1, true)]
    [InlineData(200, true)]
    [InlineData(0, false)]
    [InlineData(201, false)]
    public void EachOfUserIdsIsOneTo200Characters(int length, bool valid) =>
        AssertValidity(new SendRequest { UserIds = ["alice", new string('u', length)], Title = "Hello" }, valid, "userIds");

    [Theory]
    [InlineData(1, true)]
    [InlineData(1_000, true)]
    [InlineData(1_001, false)]
    public void UserIdsHoldsAtMost1000DistinctRecipients(int count, bool valid) =>
        AssertValidity(new SendRequest { UserIds = UserIds(count), Title = "Hello" }, valid, "userIds");

    [Fact]
    public void DuplicatesDoNotCountTowardsTheRecipientLimit()
    {
        var userIds = UserIds(1_000);
        userIds.AddRange(UserIds(500));

        var send = AssertValid(new SendRequest { UserIds = userIds, Title = "Hello" });

        Assert.Equal(1_000, send.UserIds.Count);
    }

    [Fact]
    public void DuplicateUserIdsCollapseKeepingTheFirstSeenOrder()
    {
        var send = AssertValid(new SendRequest { UserIds = ["carol", "alice", "carol", "bob", "alice"], Title = "Hello" });

        Assert.Equal(new[] { "carol", "alice", "bob" }, send.UserIds);
    }

    [Fact]
    public void UserIdsThatDifferOnlyInCaseAreDistinctRecipients()
    {
        var send = AssertValid(new SendRequest { UserIds = ["alice", "Alice"], Title = "Hello" });

        Assert.Equal(new[] { "alice", "Alice" }, send.UserIds);
    }

    [Fact]
    public void ANullElementInUserIdsIsAnErrorOnUserIds() =>
        AssertInvalid(new SendRequest { UserIds = ["alice", null], Title = "Hello" }, "userIds");

    [Fact]
    public void ASingleUserIdBecomesAOneElementRecipientList() =>
        Assert.Equal(new[] { "alice" }, AssertValid(Minimal()).UserIds);

    // --- texts ---

    [Theory]
    [InlineData(1, true)]
    [InlineData(200, true)]
    [InlineData(0, false)]
    [InlineData(201, false)]
    public void TheTitleIsOneTo200Characters(int length, bool valid) =>
        AssertValidity(new SendRequest { UserId = "alice", Title = new string('t', length) }, valid, "title");

    [Fact]
    public void TheTitleIsRequired() =>
        AssertInvalid(new SendRequest { UserId = "alice" }, "title");

    [Theory]
    [InlineData(0, true)]
    [InlineData(4_000, true)]
    [InlineData(4_001, false)]
    public void TheBodyIsAtMost4000Characters(int length, bool valid)
    {
        var request = Minimal();
        request.Body = new string('b', length);
        AssertValidity(request, valid, "body");
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(100, true)]
    [InlineData(0, false)]
    [InlineData(101, false)]
    public void TheCategoryIsOneTo100Characters(int length, bool valid)
    {
        var request = Minimal();
        request.Category = new string('c', length);
        AssertValidity(request, valid, "category");
    }

    [Fact]
    public void AGivenCategoryIsKept()
    {
        var request = Minimal();
        request.Category = "order.shipped";
        Assert.Equal("order.shipped", AssertValid(request).Category);
    }

    [Theory]
    [InlineData("title")]
    [InlineData("body")]
    [InlineData("userId")]
    [InlineData("userIds")]
    [InlineData("category")]
    [InlineData("link")]
    [InlineData("idempotencyKey")]
    public void ANulCharacterInAStringIsAnErrorOnThatField(string field)
    {
        var request = Minimal();
        switch (field)
        {
            case "title": request.Title = "Hel\0lo"; break;
            case "body": request.Body = "a\0b"; break;
            case "userId": request.UserId = "ali\0ce"; break;
            case "userIds": request.UserId = null; request.UserIds = ["alice", "b\0b"]; break;
            case "category": request.Category = "order\0shipped"; break;
            case "link": request.Link = "https://shop.example/orders/1\0"; break;
            case "idempotencyKey": request.IdempotencyKey = "key\0"; break;
            default: throw new ArgumentOutOfRangeException(nameof(field));
        }

        AssertInvalid(request, field);
    }

    // --- data ---

    [Fact]
    public void DataIsMinified()
    {
        var request = Minimal();
        request.Data = Json("""
            {
              "orderId" : "123",
              "items" : [ 1, 2, { "sku" : "a b" } ]
            }
            """);

        Assert.Equal("""{"orderId":"123","items":[1,2,{"sku":"a b"}]}""", AssertValid(request).DataJson);
    }

    [Fact]
    public void DataThatIsJsonNullIsTheSameAsNoData()
    {
        var request = Minimal();
        request.Data = Json("null");
        Assert.Null(AssertValid(request).DataJson);
    }

    [Fact]
    public void AnEmptyDataObjectIsValid()
    {
        var request = Minimal();
        request.Data = Json("{}");
        Assert.Equal("{}", AssertValid(request).DataJson);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("""[{"a":1}]""")]
    [InlineData("\"text\"")]
    [InlineData("42")]
    [InlineData("true")]
    public void DataThatIsNotAnObjectIsAnError(string json)
    {
        var request = Minimal();
        request.Data = Json(json);
        AssertInvalid(request, "data");
    }

    /// <summary><c>{"k":"…"}</c> is 8 bytes around the value.</summary>
    [Theory]
    [InlineData(16 * 1024, true)]
    [InlineData(16 * 1024 + 1, false)]
    public void DataIsAtMost16KiBOfJson(int totalBytes, bool valid)
    {
        var json = $$"""{"k":"{{new string('x', totalBytes - 8)}}"}""";
        Assert.Equal(totalBytes, Encoding.UTF8.GetByteCount(json));
        var request = Minimal();
        request.Data = Json(json);

        AssertValidity(request, valid, "data");
    }

    [Fact]
    public void WhitespaceInDataDoesNotCountTowardsTheLimit()
    {
        var padding = new string(' ', 4_096);
        var json = $$"""{{{padding}}"k"{{padding}}:{{padding}}"{{new string('x', 16 * 1024 - 8)}}"{{padding}}}""";
        Assert.True(Encoding.UTF8.GetByteCount(json) > 16 * 1024);
        var request = Minimal();
        request.Data = Json(json);

        Assert.Equal(16 * 1024, Encoding.UTF8.GetByteCount(AssertValid(request).DataJson!));
    }

    /// <summary>
    /// 16 KiB is the size of the JSON as sent (here already minified). A character such as
    /// <c>é</c>, <c>&amp;</c> or an escaped quote must not count as the six bytes of the
    /// <c>\u00E9</c>-style escape that the server writes when it re-serializes data.
    /// </summary>
    [Theory]
    [InlineData("é", 8_000)] // 2 bytes each: 16,008 bytes as sent
    [InlineData("日", 5_000)] // 3 bytes each: 15,008 bytes as sent
    [InlineData("&", 16_000)] // 16,008 bytes as sent, e.g. query strings in URLs
    [InlineData("<", 16_000)]
    [InlineData("\\\"", 8_000)] // an escaped quote, \", 2 bytes each
    public void DataWithin16KiBOfJsonIsValidWhateverCharactersItHolds(string jsonText, int count)
    {
        var json = $$"""{"k":"{{string.Concat(Enumerable.Repeat(jsonText, count))}}"}""";
        Assert.True(Encoding.UTF8.GetByteCount(json) <= 16 * 1024);
        var request = Minimal();
        request.Data = Json(json);

        AssertValid(request);
    }

    [Theory]
    [InlineData("""{"a\u0000":1}""")]
    [InlineData("""{"a":"x\u0000y"}""")]
    [InlineData("""{"a":{"b":["ok",{"c\u0000":true}]}}""")]
    [InlineData("""{"a":{"b":["ok","\u0000"]}}""")]
    public void ANulCharacterInADataKeyOrNestedValueIsAnErrorOnData(string json)
    {
        var request = Minimal();
        request.Data = Json(json);
        AssertInvalid(request, "data");
    }

    // --- link ---

    [Theory]
    [InlineData("https://shop.example/orders/123")]
    [InlineData("http://localhost:5000/inbox?tab=unread#top")]
    [InlineData("HTTPS://SHOP.EXAMPLE/")]
    public void AnAbsoluteHttpOrHttpsLinkIsValid(string link)
    {
        var request = Minimal();
        request.Link = link;
        Assert.Equal(link, AssertValid(request).Link);
    }

    [Theory]
    [InlineData("ftp://x")]
    [InlineData("/relative")]
    [InlineData("relative/path")]
    [InlineData("shop.example/orders/123")]
    [InlineData("javascript:alert(1)")]
    [InlineData("data:text/html,<b>hi</b>")]
    [InlineData("mailto:alice@example.com")]
    [InlineData("file:///etc/passwd")]
    [InlineData("http://")]
    [InlineData("https://")]
    [InlineData("")]
    public void ALinkThatIsNotAnAbsoluteHttpOrHttpsUrlIsAnError(string link)
    {
        var request = Minimal();
        request.Link = link;
        AssertInvalid(request, "link");
    }

    [Theory]
    [InlineData(2_048, true)]
    [InlineData(2_049, false)]
    public void ALinkIsAtMost2048Characters(int length, bool valid)
    {
        var prefix = "https://shop.example/";
        var request = Minimal();
        request.Link = prefix + new string('p', length - prefix.Length);
        AssertValidity(request, valid, "link");
    }

    // --- priority ---

    [Theory]
    [InlineData("low", "low")]
    [InlineData("normal", "normal")]
    [InlineData("high", "high")]
    [InlineData("urgent", "urgent")]
    [InlineData("HIGH", "high")]
    [InlineData("Normal", "normal")]
    [InlineData("uRgEnT", "urgent")]
    public void PriorityIsAcceptedInAnyCaseAndWrittenLowercase(string priority, string expected)
    {
        var request = Minimal();
        request.Priority = priority;
        Assert.Equal(expected, AssertValid(request).Priority);
    }

    [Theory]
    [InlineData("critical")]
    [InlineData("")]
    [InlineData(" high")]
    [InlineData("high ")]
    [InlineData("1")]
    public void AnUnknownPriorityIsAnError(string priority)
    {
        var request = Minimal();
        request.Priority = priority;
        AssertInvalid(request, "priority");
    }

    // --- ttlSeconds ---

    [Theory]
    [InlineData(1, true)]
    [InlineData(31_536_000, true)]
    [InlineData(0, false)]
    [InlineData(-1, false)]
    [InlineData(31_536_001, false)]
    [InlineData(long.MinValue, false)]
    [InlineData(long.MaxValue, false)]
    public void TtlSecondsIsOneSecondToOneYear(long ttlSeconds, bool valid)
    {
        var request = Minimal();
        request.TtlSeconds = ttlSeconds;
        AssertValidity(request, valid, "ttlSeconds");
    }

    // --- idempotencyKey ---

    [Theory]
    [InlineData(1, true)]
    [InlineData(200, true)]
    [InlineData(0, false)]
    [InlineData(201, false)]
    public void TheIdempotencyKeyIsOneTo200Characters(int length, bool valid)
    {
        var request = Minimal();
        request.IdempotencyKey = new string('k', length);
        AssertValidity(request, valid, "idempotencyKey");
    }
}
