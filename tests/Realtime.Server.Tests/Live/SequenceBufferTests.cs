using Realtime.Server.Bus;
using Realtime.Server.Contracts;
using Realtime.Server.Live;

namespace Realtime.Server.Tests.Live;

/// <summary>
/// The sequencer's ordering: batches from every node arrive in any order, some twice, some
/// overlapping; notifications leave strictly in id order, each once, and a gap is named so it can
/// be read from PostgreSQL.
/// </summary>
public sealed class SequenceBufferTests
{
    private static readonly DateTime CreatedAt = new(2026, 11, 21, 23, 50, 0, DateTimeKind.Utc);

    private static SequencedNotification Item(long id) => new(id, "alice", CreatedAt, null, RawJson.FromText("{}"));

    /// <summary>A batch with a notification for every id in its range.</summary>
    private static NotificationBatch Batch(long firstId, long lastId) =>
        new(firstId, lastId, Enumerable.Range((int)firstId, (int)(lastId - firstId + 1)).Select(id => Item(id)).ToList());

    /// <summary>A batch whose range holds only the given ids (the others were rolled back or deleted).</summary>
    private static NotificationBatch Sparse(long firstId, long lastId, params long[] ids) =>
        new(firstId, lastId, ids.Select(Item).ToList());

    private static long[] Take(SequenceBuffer buffer) => buffer.TakeReady().Select(n => n.Id).ToArray();

    private static long[] Ids(long from, long to) => Enumerable.Range((int)from, (int)(to - from + 1)).Select(i => (long)i).ToArray();

    [Fact]
    public void NothingIsMissingOrHeldAtTheStart()
    {
        var buffer = new SequenceBuffer(1);

        Assert.Equal(1, buffer.NextExpectedId);
        Assert.Null(buffer.MissingRange);
        Assert.Equal(0, buffer.HeldBatches);
        Assert.Empty(buffer.TakeReady());
    }

    [Fact]
    public void InOrderBatchesComeOutInOrder()
    {
        var buffer = new SequenceBuffer(1);

        buffer.Add(Batch(1, 2));
        Assert.Equal(Ids(1, 2), Take(buffer));
        buffer.Add(Batch(3, 5));
        Assert.Equal(Ids(3, 5), Take(buffer));
        buffer.Add(Batch(6, 6));
        Assert.Equal(new long[] { 6 }, Take(buffer));

        Assert.Equal(7, buffer.NextExpectedId);
        Assert.Null(buffer.MissingRange);
        Assert.Equal(0, buffer.HeldBatches);
    }

    [Fact]
    public void SeveralInOrderBatchesAddedBeforeTakingComeOutTogetherInOrder()
    {
        var buffer = new SequenceBuffer(1);
        buffer.Add(Batch(1, 2));
        buffer.Add(Batch(3, 5));

        Assert.Equal(Ids(1, 5), Take(buffer));
    }

    [Fact]
    public void ItemsAreHandedOutOnlyOnce()
    {
        var buffer = new SequenceBuffer(1);
        buffer.Add(Batch(1, 3));

        Assert.Equal(Ids(1, 3), Take(buffer));
        Assert.Empty(buffer.TakeReady());
    }

    [Fact]
    public void AnEarlyBatchIsHeldUntilTheGapBeforeItIsFilled()
    {
        var buffer = new SequenceBuffer(1);

        buffer.Add(Batch(4, 5));
        Assert.Empty(buffer.TakeReady());
        Assert.Equal(1, buffer.HeldBatches);
        Assert.Equal(1, buffer.NextExpectedId);

        buffer.Add(Batch(1, 3));
        Assert.Equal(Ids(1, 5), Take(buffer));
        Assert.Equal(6, buffer.NextExpectedId);
        Assert.Equal(0, buffer.HeldBatches);
    }

    [Fact]
    public void MissingRangeNamesExactlyTheIdsBeforeTheHeldBatch()
    {
        var buffer = new SequenceBuffer(10);
        buffer.Add(Batch(15, 16));
        buffer.TakeReady();

        Assert.Equal((10L, 14L), buffer.MissingRange);
    }

    [Fact]
    public void MissingRangeNamesTheGapBeforeTheEarliestHeldBatch()
    {
        var buffer = new SequenceBuffer(10);
        buffer.Add(Batch(20, 22));
        buffer.Add(Batch(15, 16));
        buffer.TakeReady();
        Assert.Equal((10L, 14L), buffer.MissingRange);

        buffer.Add(Batch(10, 14));
        Assert.Equal(Ids(10, 16), Take(buffer));
        Assert.Equal((17L, 19L), buffer.MissingRange);

        buffer.Add(Batch(17, 19));
        Assert.Equal(Ids(17, 22), Take(buffer));
        Assert.Null(buffer.MissingRange);
    }

    [Fact]
    public void AOneIdGapIsAOneIdRange()
    {
        var buffer = new SequenceBuffer(7);
        buffer.Add(Batch(8, 9));
        buffer.TakeReady();

        Assert.Equal((7L, 7L), buffer.MissingRange);
    }

    [Fact]
    public void MissingRangeIsNullOnceEverythingHeldHasBeenHandedOut()
    {
        var buffer = new SequenceBuffer(1);
        buffer.Add(Batch(3, 4));
        buffer.TakeReady();
        Assert.NotNull(buffer.MissingRange);

        buffer.Add(Batch(1, 2));
        buffer.TakeReady();

        Assert.Null(buffer.MissingRange);
    }

    [Fact]
    public void AGapFilledFromTheDatabaseReleasesEverythingAfterIt()
    {
        var buffer = new SequenceBuffer(1);
        buffer.Add(Batch(5, 6));
        buffer.Add(Batch(7, 9));
        buffer.TakeReady();
        var (from, to) = buffer.MissingRange!.Value;
        Assert.Equal((1L, 4L), (from, to));

        buffer.Add(Sparse(from, to, 2, 4)); // ids 1 and 3 rolled back or deleted

        Assert.Equal(new long[] { 2, 4, 5, 6, 7, 8, 9 }, Take(buffer));
        Assert.Equal(10, buffer.NextExpectedId);
        Assert.Null(buffer.MissingRange);
    }

    [Fact]
    public void ARolledBackRangeWithNoItemsReleasesEverythingAfterIt()
    {
        var buffer = new SequenceBuffer(1);
        buffer.Add(Batch(5, 6));
        buffer.TakeReady();
        var (from, to) = buffer.MissingRange!.Value;

        buffer.Add(Sparse(from, to));

        Assert.Equal(Ids(5, 6), Take(buffer));
        Assert.Equal(7, buffer.NextExpectedId);
        Assert.Null(buffer.MissingRange);
    }

    [Fact]
    public void TheLiveBatchOfAGapAlreadyReadFromTheDatabaseIsIgnored()
    {
        var buffer = new SequenceBuffer(1);
        buffer.Add(Batch(5, 6));
        buffer.TakeReady();
        buffer.Add(Batch(1, 4)); // read from PostgreSQL
        buffer.TakeReady();

        buffer.Add(Batch(1, 4)); // the late live batch

        Assert.Empty(buffer.TakeReady());
        Assert.Equal(0, buffer.HeldBatches);
        Assert.Equal(7, buffer.NextExpectedId);
    }

    [Fact]
    public void ABatchHandedOutAlreadyIsIgnoredWhenItComesAgain()
    {
        var buffer = new SequenceBuffer(1);
        buffer.Add(Batch(1, 3));
        buffer.TakeReady();

        buffer.Add(Batch(1, 3)); // our own batch, echoed back by the bus

        Assert.Empty(buffer.TakeReady());
        Assert.Equal(0, buffer.HeldBatches);
        Assert.Null(buffer.MissingRange);
        Assert.Equal(4, buffer.NextExpectedId);
    }

    [Fact]
    public void AHeldBatchThatComesTwiceIsHeldOnceAndHandedOutOnce()
    {
        var buffer = new SequenceBuffer(1);
        buffer.Add(Batch(4, 5));
        buffer.Add(Batch(4, 5));
        Assert.Equal(1, buffer.HeldBatches);

        buffer.Add(Batch(1, 3));

        Assert.Equal(Ids(1, 5), Take(buffer));
    }

    [Fact]
    public void ABatchEntirelyBelowNextExpectedIdIsIgnored()
    {
        var buffer = new SequenceBuffer(10);

        buffer.Add(Batch(3, 7));
        buffer.Add(Batch(9, 9));

        Assert.Empty(buffer.TakeReady());
        Assert.Equal(0, buffer.HeldBatches);
        Assert.Null(buffer.MissingRange);
        Assert.Equal(10, buffer.NextExpectedId);
    }

    [Fact]
    public void ABatchWithAnEmptyRangeIsIgnored()
    {
        var buffer = new SequenceBuffer(10);

        buffer.Add(Sparse(12, 11));

        Assert.Equal(0, buffer.HeldBatches);
        Assert.Null(buffer.MissingRange);
        Assert.Equal(10, buffer.NextExpectedId);
    }

    [Fact]
    public void ABatchThatStraddlesNextExpectedIdHandsOutOnlyItsNewIds()
    {
        var buffer = new SequenceBuffer(5);

        buffer.Add(Batch(3, 7));

        Assert.Equal(Ids(5, 7), Take(buffer));
        Assert.Equal(8, buffer.NextExpectedId);
    }

    [Fact]
    public void OverlappingBatchesNeverHandOutAnIdTwice()
    {
        var buffer = new SequenceBuffer(1);

        buffer.Add(Batch(1, 5));
        buffer.Add(Batch(3, 8));

        Assert.Equal(Ids(1, 8), Take(buffer));
        Assert.Equal(9, buffer.NextExpectedId);
    }

    [Fact]
    public void AHeldBatchOverlappedByTheGapFillerHandsOutOnlyItsNewIds()
    {
        var buffer = new SequenceBuffer(1);
        buffer.Add(Batch(4, 8));
        buffer.TakeReady();

        buffer.Add(Batch(1, 5));

        Assert.Equal(Ids(1, 8), Take(buffer));
    }

    [Fact]
    public void AHeldBatchInsideALongerOneIsDropped()
    {
        var buffer = new SequenceBuffer(1);
        buffer.Add(Batch(5, 6));
        buffer.Add(Batch(3, 10));
        buffer.TakeReady();

        buffer.Add(Batch(1, 2));

        Assert.Equal(Ids(1, 10), Take(buffer));
        Assert.Equal(0, buffer.HeldBatches);
        Assert.Equal(11, buffer.NextExpectedId);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void OfTwoBatchesStartingAtTheSameIdTheLongerIsKept(bool longerFirst)
    {
        var buffer = new SequenceBuffer(1);
        if (longerFirst)
        {
            buffer.Add(Batch(4, 8));
            buffer.Add(Batch(4, 5));
        }
        else
        {
            buffer.Add(Batch(4, 5));
            buffer.Add(Batch(4, 8));
        }
        Assert.Equal(1, buffer.HeldBatches);

        buffer.Add(Batch(1, 3));

        Assert.Equal(Ids(1, 8), Take(buffer));
        Assert.Equal(9, buffer.NextExpectedId);
    }

    [Fact]
    public void ABatchWithFewerItemsThanIdsAdvancesPastItsLastId()
    {
        var buffer = new SequenceBuffer(1);

        buffer.Add(Sparse(1, 5, 1, 3));

        Assert.Equal(new long[] { 1, 3 }, Take(buffer));
        Assert.Equal(6, buffer.NextExpectedId);

        buffer.Add(Batch(6, 7));
        Assert.Equal(Ids(6, 7), Take(buffer));
        Assert.Null(buffer.MissingRange);
    }

    [Fact]
    public void ABatchWhoseLastIdsAreMissingStillAdvancesPastItsLastId()
    {
        var buffer = new SequenceBuffer(1);

        buffer.Add(Sparse(1, 5, 1, 2));
        Assert.Equal(new long[] { 1, 2 }, Take(buffer));

        buffer.Add(Batch(6, 6));
        Assert.Equal(new long[] { 6 }, Take(buffer));
        Assert.Null(buffer.MissingRange);
    }

    [Fact]
    public void ItStartsFromTheIdItIsGiven()
    {
        var buffer = new SequenceBuffer(1_000_001);

        buffer.Add(Batch(1_000_001, 1_000_002));

        Assert.Equal(Ids(1_000_001, 1_000_002), Take(buffer));
    }

    /// <summary>
    /// 200 batches of 1–5 ids, a fifth of the ids rolled back, shuffled, some delivered twice; now
    /// and then a missing range is "read from the database" as the sequencer does after its gap
    /// wait. Whatever the order, the output is every committed notification once, in id order.
    /// </summary>
    [Theory]
    [InlineData(42)]
    [InlineData(7)]
    [InlineData(2026)]
    public void ShuffledBatchesComeOutAsExactlyTheSortedItemsWithNoDuplicates(int seed)
    {
        var random = new Random(seed);
        const long start = 101;
        var batches = new List<NotificationBatch>();
        var database = new SortedDictionary<long, SequencedNotification>();
        var nextId = start;
        for (var i = 0; i < 200; i++)
        {
            var firstId = nextId;
            var lastId = firstId + random.Next(1, 6) - 1;
            var items = new List<SequencedNotification>();
            for (var id = firstId; id <= lastId; id++)
            {
                if (random.NextDouble() >= 0.2)
                {
                    var item = Item(id);
                    items.Add(item);
                    database.Add(id, item);
                }
            }
            batches.Add(new NotificationBatch(firstId, lastId, items));
            nextId = lastId + 1;
        }
        var arrivals = batches.Concat(batches.Where(_ => random.Next(10) == 0)).ToArray(); // some echoed twice
        random.Shuffle(arrivals);

        var buffer = new SequenceBuffer(start);
        var output = new List<long>();
        var gapsFilled = 0;
        foreach (var batch in arrivals)
        {
            buffer.Add(batch);
            output.AddRange(Take(buffer));
            if (buffer.MissingRange is { } gap && random.Next(4) == 0)
            {
                var fromDatabase = database.Values.Where(n => n.Id >= gap.From && n.Id <= gap.To).ToList();
                buffer.Add(new NotificationBatch(gap.From, gap.To, fromDatabase));
                output.AddRange(Take(buffer));
                gapsFilled++;
            }
        }

        Assert.True(gapsFilled > 0, "the test should read some gaps from the database");
        Assert.Equal(database.Keys, output);
        Assert.Null(buffer.MissingRange);
        Assert.Equal(0, buffer.HeldBatches);
        Assert.Equal(nextId, buffer.NextExpectedId);
    }
}
