using Realtime.Server.Bus;
using Realtime.Server.Contracts;

namespace Realtime.Server.Tests.Bus;

public sealed class BusMessageCodecTests
{
    private static readonly DateTime Created = new(2026, 11, 22, 1, 2, 3, 456, DateTimeKind.Utc);

    [Fact]
    public void ABatchSurvivesTheRoundTripWithEveryFieldAndItsJsonBytesUntouched()
    {
        var batch = new NotificationBatch(10, 13,
        [
            new SequencedNotification(10, "alice", Created, null, RawJson.FromText("""{"id":10,"title":"é日😀"}""")),
            new SequencedNotification(12, null, Created, Created.AddHours(1), RawJson.FromText("""{"id":12,"broadcast":true}""")),
        ]);

        var (nodeId, decoded, userEvent, _) = BusMessageCodec.Decode(BusMessageCodec.Encode("node-a", batch));

        Assert.Equal("node-a", nodeId);
        Assert.Null(userEvent);
        Assert.NotNull(decoded);
        Assert.Equal((10L, 13L), (decoded.FirstId, decoded.LastId));
        Assert.Equal(2, decoded.Items.Count);
        Assert.Equal(("alice", (DateTime?)null), (decoded.Items[0].UserId, decoded.Items[0].ExpiresAt));
        Assert.Null(decoded.Items[1].UserId);
        Assert.Equal(Created.AddHours(1), decoded.Items[1].ExpiresAt);
        Assert.Equal(Created, decoded.Items[0].CreatedAt);
        Assert.Equal(DateTimeKind.Utc, decoded.Items[0].CreatedAt.Kind);
        Assert.Equal(batch.Items[0].Json.Utf8.ToArray(), decoded.Items[0].Json.Utf8.ToArray());
    }

    [Fact]
    public void TheNotificationDeletedPayloadOfACollapseSurvivesTheRoundTrip()
    {
        var batch = new NotificationBatch(20, 21,
        [
            new SequencedNotification(20, "alice", Created, null, RawJson.FromText("""{"id":20}""")),
            new SequencedNotification(21, "alice", Created, null, RawJson.FromText("""{"id":21}"""), RawJson.FromText("""{"ids":[7],"unreadCount":1}""")),
        ]);

        var (_, decoded, _, _) = BusMessageCodec.Decode(BusMessageCodec.Encode("node-a", batch));

        Assert.Null(decoded!.Items[0].Replaced);
        Assert.Equal("""{"id":20}""", decoded.Items[0].Json.ToString());
        Assert.Equal("""{"id":21}""", decoded.Items[1].Json.ToString());
        Assert.Equal("""{"ids":[7],"unreadCount":1}""", decoded.Items[1].Replaced!.ToString());
    }

    [Fact]
    public void AnEmptyRangeSurvivesTheRoundTrip()
    {
        var (_, decoded, _, _) = BusMessageCodec.Decode(BusMessageCodec.Encode("n", new NotificationBatch(5, 9, [])));
        Assert.Equal((5L, 9L, 0), (decoded!.FirstId, decoded.LastId, decoded.Items.Count));
    }

    [Fact]
    public void AUserEventSurvivesTheRoundTrip()
    {
        var sent = new UserEvent("bob", "notificationRead", RawJson.FromText("""{"ids":[1,2],"all":false}"""));

        var (nodeId, batch, received, _) = BusMessageCodec.Decode(BusMessageCodec.Encode("node-b", sent));

        Assert.Equal("node-b", nodeId);
        Assert.Null(batch);
        Assert.Equal(("bob", "notificationRead"), (received!.UserId, received.Target));
        Assert.Equal(sent.Payload.ToString(), received.Payload.ToString());
    }

    [Fact]
    public void ACacheInvalidationSurvivesTheRoundTrip()
    {
        var (nodeId, batch, userEvent, invalidation) = BusMessageCodec.Decode(
            BusMessageCodec.Encode("node-c", new CacheInvalidation("preferences", "alice")));

        Assert.Equal("node-c", nodeId);
        Assert.Null(batch);
        Assert.Null(userEvent);
        Assert.Equal(new CacheInvalidation("preferences", "alice"), invalidation);
    }

    [Fact]
    public void EveryTruncationOfAMessageIsRejectedAsAFormatError()
    {
        var message = BusMessageCodec.Encode("node", new NotificationBatch(1, 1,
            [new SequencedNotification(1, "u", Created, null, RawJson.FromText("{}"))]));

        for (var length = 0; length < message.Length; length++)
        {
            Assert.Throws<FormatException>(() => BusMessageCodec.Decode(message.AsMemory(0, length)));
        }
    }

    [Fact]
    public void AnotherVersionOrKindIsRejected()
    {
        var message = BusMessageCodec.Encode("node", new UserEvent("u", "t", RawJson.FromText("{}")));
        var otherVersion = (byte[])message.Clone();
        otherVersion[0] = 99;
        var otherKind = (byte[])message.Clone();
        otherKind[1] = 42;

        Assert.Throws<FormatException>(() => BusMessageCodec.Decode(otherVersion));
        Assert.Throws<FormatException>(() => BusMessageCodec.Decode(otherKind));
    }

    [Fact]
    public void ABatchClaimingMoreItemsThanIdsIsRejected()
    {
        var message = BusMessageCodec.Encode("n", new NotificationBatch(1, 1,
            [new SequencedNotification(1, "u", Created, null, RawJson.FromText("{}"))]));
        // The item count follows version, kind, node id (4 + 1 bytes) and the two ids.
        var countOffset = 1 + 1 + 4 + 1 + 8 + 8;
        message[countOffset] = 5;

        Assert.Throws<FormatException>(() => BusMessageCodec.Decode(message));
    }
}
