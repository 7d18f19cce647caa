using System.Text.Json;
using Realtime.Server.Contracts;
using Realtime.Server.Notifications;

namespace Realtime.Server.Tests.Notifications;

/// <summary><see cref="NotificationJson"/>: the content serialized once, each recipient's id and userId spliced in, byte for byte what a full serialization writes.</summary>
public sealed class NotificationJsonSpliceTests
{
    private static readonly DateTime CreatedAt = new(2026, 11, 21, 23, 50, 0, 123, DateTimeKind.Utc);

    private static readonly Notification Content = new(
        0, null, "order.shipped", "Your \"order\" <shipped>", "Ünïcødé body 🎉 with \n newline", RawJson.FromText("""{"a":[1,2],"b":"x\"y"}"""),
        "https://shop.example/orders/123?x=1&y=2", "high", false, CreatedAt, CreatedAt.AddDays(1), null, "order-123");

    public static TheoryData<long, string?> Recipients => new()
    {
        { 1, "alice" },
        { long.MaxValue, "bob" },
        { 42, "quote\"and\\backslash" },
        { 7, "ünï-cødé-😀" },
        { 9, "<script>&'" },
        { 1234567, null },
    };

    [Theory]
    [MemberData(nameof(Recipients))]
    public void EachRecipientsJsonIsWhatSerializingTheirNotificationWrites(long id, string? userId)
    {
        var expected = JsonSerializer.SerializeToUtf8Bytes(Content with { Id = id, UserId = userId, Broadcast = userId is null }, RealtimeJsonContext.Default.Notification);

        var spliced = NotificationJson.Of(Content with { Broadcast = userId is null }).For(id, userId);

        Assert.Equal(System.Text.Encoding.UTF8.GetString(expected), spliced.ToString());
    }

    [Fact]
    public void OneSerializedContentServesManyRecipients()
    {
        var json = NotificationJson.Of(Content with { Id = 99, UserId = "ignored", Body = null, Data = null, Link = null, CollapseKey = null, ExpiresAt = null });

        for (var id = 1; id <= 3; id++)
        {
            var expected = JsonSerializer.Serialize(Content with { Id = id, UserId = $"user-{id}", Body = null, Data = null, Link = null, CollapseKey = null, ExpiresAt = null },
                RealtimeJsonContext.Default.Notification);
            Assert.Equal(expected, json.For(id, $"user-{id}").ToString());
        }
    }
}
