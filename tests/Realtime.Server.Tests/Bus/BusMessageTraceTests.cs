using System.Diagnostics;
using Realtime.Server.Bus;
using Realtime.Server.Contracts;

namespace Realtime.Server.Tests.Bus;

/// <summary>The trace section of a batch: each item's request context, and nothing written for untraced batches.</summary>
public sealed class BusMessageTraceTests
{
    private static readonly DateTime Created = new(2026, 11, 30, 1, 2, 3, DateTimeKind.Utc);

    private static SequencedNotification Item(long id, ActivityContext trace = default) =>
        new(id, "u" + id, Created, null, RawJson.FromText($$"""{"id":{{id}}}"""), Trace: trace);

    private static ActivityContext NewContext() =>
        new(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);

    [Fact]
    public void EachItemKeepsTheTraceContextOfItsRequestThroughTheRoundTrip()
    {
        var first = NewContext();
        var second = NewContext();
        var batch = new NotificationBatch(1, 5, [Item(1, first), Item(2, first), Item(3), Item(4, second), Item(5, first)]);

        var (_, decoded, _, _) = BusMessageCodec.Decode(BusMessageCodec.Encode("n", batch));

        Assert.Equal([1L, 2, 3, 4, 5], decoded!.Items.Select(i => i.Id));
        var traces = decoded.Items.Select(i => i.Trace).ToList();
        Assert.Equal((first.TraceId, first.SpanId, ActivityTraceFlags.Recorded), (traces[0].TraceId, traces[0].SpanId, traces[0].TraceFlags));
        Assert.Equal(first.TraceId, traces[1].TraceId);
        Assert.Equal(default, traces[2]);
        Assert.Equal((second.TraceId, second.SpanId), (traces[3].TraceId, traces[3].SpanId));
        Assert.Equal(first.SpanId, traces[4].SpanId);
        Assert.True(traces[0].IsRemote);
    }

    [Fact]
    public void ABatchWithoutTracesIsEncodedExactlyAsBeforeTheTraceSection()
    {
        var plain = BusMessageCodec.Encode("n", new NotificationBatch(1, 2, [Item(1), Item(2)]));
        var traced = BusMessageCodec.Encode("n", new NotificationBatch(1, 2, [Item(1, NewContext()), Item(2, NewContext())]));

        // The trace section is appended after the items: untraced batches pay nothing for it.
        Assert.Equal(plain, traced[..plain.Length]);
        Assert.Equal((byte)'T', traced[plain.Length]);
        var (_, decoded, _, _) = BusMessageCodec.Decode(plain);
        Assert.All(decoded!.Items, item => Assert.Equal(default, item.Trace));
    }

    [Fact]
    public void ATraceSectionClaimingMoreItemsThanTheBatchIsRefused()
    {
        var message = BusMessageCodec.Encode("n", new NotificationBatch(1, 1, [Item(1, NewContext())]));
        var runCountAt = message.Length - 25 - 4 - 4; // 'T', run count, then one run: item count and context
        message[runCountAt + 4] = 2; // the run's item count: 2 items in a batch of 1

        Assert.Throws<FormatException>(() => BusMessageCodec.Decode(message));
    }
}
