using System.Text.Json;
using Realtime.Server.Contracts;

namespace Realtime.Server.Tests.Notifications;

/// <summary>The notification object as written by <see cref="RealtimeJsonContext"/>: API.md's shape, data verbatim.</summary>
public sealed class NotificationJsonTests
{
    private static readonly string[] ContractOrder =
        ["id", "userId", "category", "title", "body", "data", "link", "priority", "broadcast", "createdAt", "expiresAt", "readAt", "collapseKey"];

    private static readonly DateTime CreatedAt = new(2026, 11, 21, 23, 50, 0, 123, DateTimeKind.Utc);

    private static Notification UserNotification(RawJson? data) => new(
        1234, "alice", "order.shipped", "Your order shipped", "Order #123 is on its way", data,
        "https://shop.example/orders/123", "normal", false, CreatedAt, null, null, null);

    private static string Serialize(Notification notification) =>
        JsonSerializer.Serialize(notification, RealtimeJsonContext.Default.Notification);

    [Fact]
    public void EveryFieldIsWrittenInTheContractsOrder()
    {
        using var document = JsonDocument.Parse(Serialize(UserNotification(RawJson.FromText("""{"a":[1,2]}"""))));

        Assert.Equal(ContractOrder, document.RootElement.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public void EveryFieldIsWrittenAsTheContractsExampleShowsIt()
    {
        var notification = UserNotification(RawJson.FromText("""{"a":[1,2]}""")) with
        {
            ExpiresAt = new DateTime(2026, 11, 22, 23, 50, 0, DateTimeKind.Utc),
            ReadAt = new DateTime(2026, 11, 22, 8, 0, 0, 7, DateTimeKind.Utc),
        };

        using var document = JsonDocument.Parse(Serialize(notification));
        var root = document.RootElement;

        Assert.Equal(1234, root.GetProperty("id").GetInt64());
        Assert.Equal("alice", root.GetProperty("userId").GetString());
        Assert.Equal("order.shipped", root.GetProperty("category").GetString());
        Assert.Equal("Your order shipped", root.GetProperty("title").GetString());
        Assert.Equal("Order #123 is on its way", root.GetProperty("body").GetString());
        Assert.Equal("https://shop.example/orders/123", root.GetProperty("link").GetString());
        Assert.Equal("normal", root.GetProperty("priority").GetString());
        Assert.Equal(JsonValueKind.False, root.GetProperty("broadcast").ValueKind);
        Assert.Equal("2026-11-21T23:50:00.123Z", root.GetProperty("createdAt").GetString());
        Assert.Equal("2026-11-22T23:50:00.000Z", root.GetProperty("expiresAt").GetString());
        Assert.Equal("2026-11-22T08:00:00.007Z", root.GetProperty("readAt").GetString());
    }

    [Fact]
    public void DataIsWrittenAsTheObjectItselfNotAsAString()
    {
        using var document = JsonDocument.Parse(Serialize(UserNotification(RawJson.FromText("""{"a":[1,2]}"""))));
        var data = document.RootElement.GetProperty("data");

        Assert.Equal(JsonValueKind.Object, data.ValueKind);
        Assert.Equal("""{"a":[1,2]}""", data.GetRawText());
        Assert.Equal(new[] { 1, 2 }, data.GetProperty("a").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public void DataIsWrittenVerbatimByteForByte()
    {
        var json = Serialize(UserNotification(RawJson.FromText("""{ "a" : [1, 2], "é" : "<&>" }""")));

        Assert.Contains(""","data":{ "a" : [1, 2], "é" : "<&>" },"link":""", json);
    }

    [Fact]
    public void ABroadcastWritesEveryEmptyFieldAsNull()
    {
        var broadcast = new Notification(5678, null, "system", "Maintenance tonight", null, null, null, "high", true, CreatedAt, null, null, null);

        using var document = JsonDocument.Parse(Serialize(broadcast));
        var root = document.RootElement;

        Assert.Equal(ContractOrder, root.EnumerateObject().Select(p => p.Name));
        foreach (var field in new[] { "userId", "body", "data", "link", "expiresAt", "readAt", "collapseKey" })
        {
            Assert.Equal(JsonValueKind.Null, root.GetProperty(field).ValueKind);
        }
        Assert.Equal(JsonValueKind.True, root.GetProperty("broadcast").ValueKind);
    }

    [Fact]
    public void RawJsonOnItsOwnIsWrittenVerbatim() =>
        Assert.Equal("""{"id":1, "x":[true,null]}""", JsonSerializer.Serialize(RawJson.FromText("""{"id":1, "x":[true,null]}"""), RealtimeJsonContext.Default.RawJson));

    [Fact]
    public void RawJsonReadFromJsonIsTheMinifiedValue()
    {
        var raw = JsonSerializer.Deserialize(""" { "a" : [ 1 , 2 ] } """, RealtimeJsonContext.Default.RawJson);

        Assert.Equal("""{"a":[1,2]}""", raw!.ToString());
    }

    [Fact]
    public void RawJsonToStringIsItsText() =>
        Assert.Equal("""{"a":"é"}""", RawJson.FromText("""{"a":"é"}""").ToString());
}
