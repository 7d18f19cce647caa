using System.Text.Json;
using Realtime.Server.Notifications;

namespace Realtime.Server.Tests.Notifications;

/// <summary>The idempotency hash: what makes a repeated key a replay (equal) or a conflict (different).</summary>
public sealed class ValidatedSendHashTests
{
    private static SendRequest Request() => new()
    {
        UserIds = ["alice", "bob"],
        Title = "Your order shipped",
        Body = "Order #123 is on its way",
        Category = "order.shipped",
        Data = Json("""{"orderId":"123","lines":[1,2]}"""),
        Link = "https://shop.example/orders/123",
        Priority = "high",
        TtlSeconds = 86_400,
        IdempotencyKey = "order-123-shipped",
    };

    private static JsonElement Json(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    private static byte[] Hash(SendRequest request)
    {
        var (send, errors) = SendRequestValidator.Validate(request);
        Assert.Empty(errors);
        return send!.ComputeHash();
    }

    [Fact]
    public void TheHashIsA256BitDigest() => Assert.Equal(32, Hash(Request()).Length);

    [Fact]
    public void EqualRequestsHashEqually() => Assert.Equal(Hash(Request()), Hash(Request()));

    [Theory]
    [InlineData("data differs only in whitespace")]
    [InlineData("priority differs only in case")]
    [InlineData("category omitted and given as the default")]
    [InlineData("priority omitted and given as the default")]
    [InlineData("one userId and a one-element userIds")]
    [InlineData("duplicate userIds")]
    [InlineData("another idempotencyKey")]
    public void RequestsThatValidateToTheSameSendHashEqually(string variant)
    {
        SendRequest first = Request(), second = Request();
        switch (variant)
        {
            case "data differs only in whitespace":
                second.Data = Json("""
                    { "orderId" : "123",
                      "lines" : [ 1, 2 ] }
                    """);
                break;
            case "priority differs only in case":
                second.Priority = "HIGH";
                break;
            case "category omitted and given as the default":
                first.Category = null;
                second.Category = "general";
                break;
            case "priority omitted and given as the default":
                first.Priority = null;
                second.Priority = "normal";
                break;
            case "one userId and a one-element userIds":
                first.UserIds = null;
                first.UserId = "alice";
                second.UserIds = ["alice"];
                break;
            case "duplicate userIds":
                second.UserIds = ["alice", "bob", "alice"];
                break;
            case "another idempotencyKey": // the key selects the earlier send; it is not part of what is compared
                second.IdempotencyKey = "another-key";
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(variant));
        }

        Assert.Equal(Hash(first), Hash(second));
    }

    [Theory]
    [InlineData("title")]
    [InlineData("body")]
    [InlineData("body null instead of empty")]
    [InlineData("userIds order")]
    [InlineData("userIds member")]
    [InlineData("userIds one more")]
    [InlineData("category")]
    [InlineData("data value")]
    [InlineData("data omitted")]
    [InlineData("link")]
    [InlineData("link omitted")]
    [InlineData("priority")]
    [InlineData("ttlSeconds")]
    [InlineData("ttlSeconds omitted")]
    public void ADifferenceInAnyFieldThatShapesTheNotificationsChangesTheHash(string difference)
    {
        SendRequest first = Request(), second = Request();
        switch (difference)
        {
            case "title": second.Title = "Your order shipped!"; break;
            case "body": second.Body = "Order #124 is on its way"; break;
            case "body null instead of empty": first.Body = null; second.Body = ""; break;
            case "userIds order": second.UserIds = ["bob", "alice"]; break;
            case "userIds member": second.UserIds = ["alice", "carol"]; break;
            case "userIds one more": second.UserIds = ["alice", "bob", "carol"]; break;
            case "category": second.Category = "order.delivered"; break;
            case "data value": second.Data = Json("""{"orderId":"124","lines":[1,2]}"""); break;
            case "data omitted": second.Data = null; break;
            case "link": second.Link = "https://shop.example/orders/124"; break;
            case "link omitted": second.Link = null; break;
            case "priority": second.Priority = "urgent"; break;
            case "ttlSeconds": second.TtlSeconds = 86_401; break;
            case "ttlSeconds omitted": second.TtlSeconds = null; break;
            default: throw new ArgumentOutOfRangeException(nameof(difference));
        }

        Assert.NotEqual(Hash(first), Hash(second));
    }

    [Fact]
    public void FieldBoundariesCannotBeShiftedToForgeAnEqualHash()
    {
        var first = new ValidatedSend(["alice"], "ab", "c", "general", null, null, "normal", null, null);
        var second = new ValidatedSend(["alice"], "a", "bc", "general", null, null, "normal", null, null);

        Assert.NotEqual(first.ComputeHash(), second.ComputeHash());
    }
}
