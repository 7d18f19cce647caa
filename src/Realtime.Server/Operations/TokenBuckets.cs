using System.Collections.Concurrent;

namespace Realtime.Server.Operations;

/// <summary>
/// A token bucket per key: <c>perSecond</c> tokens a second with a burst of the same size. No
/// global lock and no timer: each bucket has its own small lock and refills lazily from the time
/// elapsed since it was last touched. A bucket untouched for <see cref="FullAfter"/> is full again,
/// the same as a fresh one, so a sweep every <see cref="SweepEvery"/> drops those: memory stays
/// bounded by the keys active in the last few seconds.
/// </summary>
internal sealed class TokenBuckets
{
    /// <summary>An empty bucket refills completely in one second (burst = rate).</summary>
    public static readonly TimeSpan FullAfter = TimeSpan.FromSeconds(1);

    /// <summary>How often idle buckets are dropped: often enough to bound memory, rarely enough to cost nothing.</summary>
    public static readonly TimeSpan SweepEvery = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly int _perSecond;
    private readonly long _fullAfterTicks;
    private readonly long _sweepEveryTicks;
    private long _nextSweep;
    private int _sweeping;

    public TokenBuckets(int perSecond, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(perSecond);
        _perSecond = perSecond;
        _time = time;
        _fullAfterTicks = (long)(FullAfter.TotalSeconds * time.TimestampFrequency);
        _sweepEveryTicks = (long)(SweepEvery.TotalSeconds * time.TimestampFrequency);
        _nextSweep = time.GetTimestamp() + _sweepEveryTicks;
    }

    /// <summary>How many keys have a bucket now (for tests of the sweep).</summary>
    public int Count => _buckets.Count;

    /// <summary>
    /// Takes one token from <paramref name="key"/>'s bucket. When it is empty, false and the wait
    /// until its next token in <paramref name="retryAfter"/>.
    /// </summary>
    public bool TryAcquire(string key, out TimeSpan retryAfter)
    {
        var now = _time.GetTimestamp();
        if (now >= Volatile.Read(ref _nextSweep))
        {
            StartSweep(now);
        }
        while (true)
        {
            var bucket = _buckets.GetOrAdd(key, static (_, state) => new Bucket(state._perSecond, state.now), (_perSecond, now));
            var taken = bucket.TryTake(now, _perSecond, _time.TimestampFrequency, out retryAfter);
            if (taken is not null)
            {
                return taken.Value;
            }
            // The sweep retired this bucket between the lookup and the lock: take from its successor.
        }
    }

    /// <summary>Drops every bucket idle for <see cref="FullAfter"/> or longer; the work runs off the caller's request.</summary>
    private void StartSweep(long now)
    {
        if (Interlocked.CompareExchange(ref _sweeping, 1, 0) != 0)
        {
            return;
        }
        Volatile.Write(ref _nextSweep, now + _sweepEveryTicks);
        ThreadPool.UnsafeQueueUserWorkItem(static state => state.Sweep(), this, preferLocal: false);
    }

    internal void Sweep()
    {
        try
        {
            var now = _time.GetTimestamp();
            foreach (var entry in _buckets)
            {
                if (entry.Value.TryRetire(now, _fullAfterTicks))
                {
                    _buckets.TryRemove(entry);
                }
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    private sealed class Bucket(int tokens, long now)
    {
        private readonly Lock _gate = new();
        private double _tokens = tokens;
        private long _touched = now;
        private bool _retired;

        /// <summary>True or false as the bucket answers; null if it was retired (the caller looks again).</summary>
        public bool? TryTake(long now, int perSecond, long frequency, out TimeSpan retryAfter)
        {
            lock (_gate)
            {
                retryAfter = TimeSpan.Zero;
                if (_retired)
                {
                    return null;
                }
                var tokens = Refill(_tokens, now - _touched, perSecond, frequency);
                _touched = Math.Max(_touched, now);
                if (tokens >= 1)
                {
                    _tokens = tokens - 1;
                    return true;
                }
                _tokens = tokens;
                retryAfter = TimeSpan.FromSeconds((1 - tokens) / perSecond);
                return false;
            }
        }

        /// <summary>Retires the bucket if it has been idle long enough to be full again (a fresh one is the same).</summary>
        public bool TryRetire(long now, long fullAfterTicks)
        {
            lock (_gate)
            {
                _retired = now - _touched >= fullAfterTicks;
                return _retired;
            }
        }
    }

    /// <summary>The tokens after <paramref name="elapsedTicks"/> of refill at <paramref name="perSecond"/>, capped at the burst.</summary>
    internal static double Refill(double tokens, long elapsedTicks, int perSecond, long frequency) =>
        elapsedTicks <= 0 ? tokens : Math.Min(perSecond, tokens + (double)elapsedTicks * perSecond / frequency);
}
