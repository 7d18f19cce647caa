using System.Diagnostics;

namespace Realtime.LoadTest.Measurement;

/// <summary>
/// A lock-free log-linear histogram of durations (microsecond resolution, about 1.5% relative
/// error, up to ~10 minutes): cheap enough to record every delivery of a fan-out.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int SubBuckets = 64;   // per power of two: ~1.5% precision
    private const int Powers = 40;       // 2^40 µs is ~12 days: never overflows
    private readonly long[] _counts = new long[SubBuckets * Powers];
    private long _count;
    private long _maxMicros;

    public long Count => Interlocked.Read(ref _count);

    public void RecordSince(long startTimestamp) =>
        Record(Stopwatch.GetElapsedTime(startTimestamp));

    public void Record(TimeSpan duration)
    {
        var micros = Math.Max(0, (long)(duration.Ticks / 10));
        Interlocked.Increment(ref _counts[Index(micros)]);
        Interlocked.Increment(ref _count);
        long max;
        while (micros > (max = Interlocked.Read(ref _maxMicros)) &&
               Interlocked.CompareExchange(ref _maxMicros, micros, max) != max)
        {
        }
    }

    /// <summary>The duration below which <paramref name="percentile"/> % of the recorded values lie, in ms.</summary>
    public double PercentileMs(double percentile)
    {
        var total = Count;
        if (total == 0)
        {
            return double.NaN;
        }
        var rank = (long)Math.Ceiling(total * percentile / 100.0);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += Interlocked.Read(ref _counts[i]);
            if (seen >= rank)
            {
                return Math.Min(UpperBound(i), Interlocked.Read(ref _maxMicros)) / 1000.0;
            }
        }
        return MaxMs;
    }

    /// <summary>The raw buckets and maximum, for another process to <see cref="Merge"/> (worker processes).</summary>
    public (long[] Counts, long MaxMicros) Snapshot() => ([.. _counts], Interlocked.Read(ref _maxMicros));

    /// <summary>Adds the values of another histogram's <see cref="Snapshot"/>.</summary>
    public void Merge(long[] counts, long maxMicros)
    {
        for (var i = 0; i < Math.Min(counts.Length, _counts.Length); i++)
        {
            Interlocked.Add(ref _counts[i], counts[i]);
            Interlocked.Add(ref _count, counts[i]);
        }
        long max;
        while (maxMicros > (max = Interlocked.Read(ref _maxMicros)) &&
               Interlocked.CompareExchange(ref _maxMicros, maxMicros, max) != max)
        {
        }
    }

    public double MaxMs => Count == 0 ? double.NaN : Interlocked.Read(ref _maxMicros) / 1000.0;

    public void AddTo(ScenarioResult result, string prefix)
    {
        result.Add($"{prefix} p50 (ms)", PercentileMs(50));
        result.Add($"{prefix} p90 (ms)", PercentileMs(90));
        result.Add($"{prefix} p99 (ms)", PercentileMs(99));
        result.Add($"{prefix} p99.9 (ms)", PercentileMs(99.9));
        result.Add($"{prefix} max (ms)", MaxMs);
    }

    private static int Index(long micros)
    {
        if (micros < SubBuckets)
        {
            return (int)micros;
        }
        var power = 63 - (int)long.LeadingZeroCount(micros);           // micros in [2^power, 2^(power+1))
        var shift = power - 6;                                      // 64 sub-buckets per power
        var sub = (int)(micros >> shift) - SubBuckets;              // 0..63
        return Math.Min(_countsLength - 1, (shift + 1) * SubBuckets + sub);
    }

    private const int _countsLength = SubBuckets * Powers;

    private static long UpperBound(int index)
    {
        if (index < SubBuckets)
        {
            return index;
        }
        var shift = index / SubBuckets - 1;
        var sub = index % SubBuckets;
        return ((long)(sub + SubBuckets + 1) << shift) - 1;
    }
}
