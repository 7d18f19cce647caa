using Realtime.Server.Operations;

namespace Realtime.Server.Tests.Operations;

/// <summary>The bucket arithmetic of the rate limits, on a clock the test moves.</summary>
public sealed class TokenBucketsTests
{
    /// <summary>A timestamp clock that only moves when told.</summary>
    private sealed class ManualTime : TimeProvider
    {
        private long _timestamp = 1_000_000;

        public override long TimestampFrequency => 1_000_000;

        public override long GetTimestamp() => _timestamp;

        public void Advance(TimeSpan by) => _timestamp += (long)(by.TotalSeconds * TimestampFrequency);
    }

    private static int Take(TokenBuckets buckets, string key, int attempts) =>
        Enumerable.Range(0, attempts).Count(attempt => buckets.TryAcquire(key, out _));

    [Fact]
    public void AFreshBucketLetsABurstOfItsRateThroughAndRefusesTheNext()
    {
        var buckets = new TokenBuckets(5, new ManualTime());

        Assert.Equal(5, Take(buckets, "a", 5));
        Assert.False(buckets.TryAcquire("a", out var retryAfter));
        Assert.Equal(TimeSpan.FromMilliseconds(200), retryAfter);
    }

    [Fact]
    public void TokensComeBackInProportionToTheElapsedTime()
    {
        var time = new ManualTime();
        var buckets = new TokenBuckets(10, time);
        Assert.Equal(10, Take(buckets, "a", 10));

        time.Advance(TimeSpan.FromMilliseconds(350));

        Assert.Equal(3, Take(buckets, "a", 10));
        Assert.False(buckets.TryAcquire("a", out var retryAfter));
        Assert.Equal(TimeSpan.FromMilliseconds(50), retryAfter);
    }

    [Fact]
    public void ARefillNeverExceedsTheBurst()
    {
        var time = new ManualTime();
        var buckets = new TokenBuckets(4, time);
        Assert.Equal(4, Take(buckets, "a", 4));

        time.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal(4, Take(buckets, "a", 10));
    }

    [Fact]
    public void EachKeyHasItsOwnBucket()
    {
        var buckets = new TokenBuckets(2, new ManualTime());

        Assert.Equal(2, Take(buckets, "a", 5));
        Assert.Equal(2, Take(buckets, "b", 5));
    }

    [Fact]
    public void TheSweepDropsOnlyBucketsIdleLongEnoughToBeFullAgain()
    {
        var time = new ManualTime();
        var buckets = new TokenBuckets(3, time);
        Take(buckets, "idle", 3);
        time.Advance(TokenBuckets.FullAfter);
        Take(buckets, "busy", 1);

        buckets.Sweep();

        Assert.Equal(1, buckets.Count);
        Assert.Equal(3, Take(buckets, "idle", 5));
        Assert.Equal(2, Take(buckets, "busy", 5));
    }

    [Fact]
    public void ConcurrentTakersNeverGetMoreThanTheBurst()
    {
        var buckets = new TokenBuckets(1_000, new ManualTime());
        var granted = 0;

        Parallel.For(0, 4_000, new ParallelOptions { MaxDegreeOfParallelism = 4 }, attempt =>
        {
            if (buckets.TryAcquire("shared", out _))
            {
                Interlocked.Increment(ref granted);
            }
        });

        Assert.Equal(1_000, granted);
    }
}
