using System.Diagnostics;

namespace Realtime.LoadTest.Measurement;

/// <summary>
/// Everything the receiving clients saw: a latency histogram (from the send timestamp carried in
/// <c>data.sentAt</c>), and per message sequence number (<c>data.seq</c>) how often it arrived, so
/// a run can count lost (acknowledged, never delivered) and duplicated deliveries.
/// </summary>
internal sealed class DeliveryLedger(int capacity)
{
    private readonly int[] _deliveries = new int[capacity];
    private readonly bool[] _acknowledged = new bool[capacity];
    private readonly int[] _expected = new int[capacity];
    private long _delivered;
    private long _others;
    private long _lastDeliveryTimestamp;
    private int _nextSeq;
    private long _warmupDelivered;

    /// <summary>The <c>seq</c> of warm-up messages: counted apart, never measured.</summary>
    public const int WarmupSeq = -2;

    public long WarmupDelivered => Interlocked.Read(ref _warmupDelivered);

    private LatencyHistogram _endToEnd = new();

    public LatencyHistogram EndToEnd => Volatile.Read(ref _endToEnd);

    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Messages that carry no sequence number of this run (e.g. <c>unreadCount</c>).</summary>
    public long OtherMessages => Interlocked.Read(ref _others);

    public long LastDeliveryTimestamp => Interlocked.Read(ref _lastDeliveryTimestamp);

    public int Capacity => capacity;

    /// <summary>A new sequence number, or -1 when the run is at capacity.</summary>
    public int NextSeq()
    {
        var seq = Interlocked.Increment(ref _nextSeq) - 1;
        return seq < capacity ? seq : -1;
    }

    public int Issued => Math.Min(Volatile.Read(ref _nextSeq), capacity);

    /// <summary>
    /// <paramref name="seq"/> is about to be sent to <paramref name="recipients"/> connections (set
    /// before sending, so a send whose answer is lost, e.g. a timeout, still counts its duplicates right).
    /// </summary>
    public void Expect(int seq, int recipients) => Volatile.Write(ref _expected[seq], recipients);

    /// <summary>The server accepted <paramref name="seq"/>: from now on its missing deliveries are lost.</summary>
    public void Acknowledge(int seq, int recipients)
    {
        Volatile.Write(ref _expected[seq], recipients);
        Volatile.Write(ref _acknowledged[seq], true);
    }

    public void RecordDelivery(long seq, long sentAt)
    {
        if (seq == WarmupSeq)
        {
            Interlocked.Increment(ref _warmupDelivered);
            return;
        }
        var now = Stopwatch.GetTimestamp();
        if (seq >= 0 && seq < capacity)
        {
            Interlocked.Increment(ref _deliveries[seq]);
        }
        if (sentAt > 0)
        {
            EndToEnd.Record(Stopwatch.GetElapsedTime(sentAt, now));
        }
        Interlocked.Increment(ref _delivered);
        Interlocked.Exchange(ref _lastDeliveryTimestamp, now);
    }

    /// <summary>Deliveries per sequence number up to the last one seen, for another process to <see cref="Merge"/> (worker processes).</summary>
    public int[] DeliveriesPerSeq()
    {
        var last = Array.FindLastIndex(_deliveries, d => d != 0);
        return _deliveries[..(last + 1)];
    }

    /// <summary>Adds what a worker process's ledger saw (its <see cref="DeliveriesPerSeq"/> and counters).</summary>
    public void Merge(int[] deliveriesPerSeq, long delivered, long others, long lastDeliveryTimestamp)
    {
        long last;
        while (lastDeliveryTimestamp > (last = Interlocked.Read(ref _lastDeliveryTimestamp)) &&
               Interlocked.CompareExchange(ref _lastDeliveryTimestamp, lastDeliveryTimestamp, last) != last)
        {
        }
        for (var i = 0; i < Math.Min(deliveriesPerSeq.Length, capacity); i++)
        {
            Interlocked.Add(ref _deliveries[i], deliveriesPerSeq[i]);
        }
        Interlocked.Add(ref _delivered, delivered);
        Interlocked.Add(ref _others, others);
    }

    public void RecordOther() => Interlocked.Increment(ref _others);

    /// <summary>Forgets the warm-up: counters and latencies start again (sequence numbers carry on).</summary>
    public void ResetCounters()
    {
        Volatile.Write(ref _endToEnd, new LatencyHistogram());
        Interlocked.Exchange(ref _delivered, 0);
        Interlocked.Exchange(ref _others, 0);
    }

    /// <summary>Acknowledged deliveries still missing (expected minus delivered, per message).</summary>
    public long Missing()
    {
        long missing = 0;
        for (var i = 0; i < Issued; i++)
        {
            if (Volatile.Read(ref _acknowledged[i]))
            {
                missing += Math.Max(0, _expected[i] - Volatile.Read(ref _deliveries[i]));
            }
        }
        return missing;
    }

    /// <summary>Deliveries beyond the expected count (a message seen twice by one client).</summary>
    public long Duplicated()
    {
        long extra = 0;
        for (var i = 0; i < Issued; i++)
        {
            var delivered = Volatile.Read(ref _deliveries[i]);
            var expected = Math.Max(1, Volatile.Read(ref _expected[i]));
            extra += Math.Max(0, delivered - expected);
        }
        return extra;
    }

    public long ExpectedDeliveries()
    {
        long total = 0;
        for (var i = 0; i < Issued; i++)
        {
            if (Volatile.Read(ref _acknowledged[i]))
            {
                total += _expected[i];
            }
        }
        return total;
    }

    /// <summary>Waits until every acknowledged message arrived, or nothing arrived for a while, or the drain time is up.</summary>
    public async Task DrainAsync(TimeSpan drain, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(drain.TotalSeconds * Stopwatch.Frequency);
        var lastCount = -1L;
        var lastChange = Stopwatch.GetTimestamp();
        while (Stopwatch.GetTimestamp() < deadline && !cancellationToken.IsCancellationRequested)
        {
            if (Delivered >= ExpectedDeliveries() && Missing() == 0)
            {
                return;
            }
            if (Delivered != lastCount)
            {
                lastCount = Delivered;
                lastChange = Stopwatch.GetTimestamp();
            }
            else if (Stopwatch.GetElapsedTime(lastChange) > TimeSpan.FromSeconds(3))
            {
                return; // nothing moves any more
            }
            await Task.Delay(50, cancellationToken);
        }
    }
}
