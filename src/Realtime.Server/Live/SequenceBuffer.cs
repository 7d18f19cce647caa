using Realtime.Server.Bus;

namespace Realtime.Server.Live;

/// <summary>
/// The sequencer's bookkeeping, without I/O or clocks: holds batches that arrive early, hands out
/// notifications strictly in id order, drops what was already handed out, and names the range
/// that is missing. A range read from PostgreSQL goes back in as one more batch.
/// </summary>
internal sealed class SequenceBuffer(long nextExpectedId)
{
    private readonly SortedDictionary<long, NotificationBatch> _early = [];

    /// <summary>The next id to hand out: every id below it has been handed out or was never committed.</summary>
    public long NextExpectedId { get; private set; } = nextExpectedId;

    /// <summary>The ids missing before the earliest batch held, or null when nothing is held.</summary>
    public (long From, long To)? MissingRange =>
        _early.Count == 0 ? null : (NextExpectedId, _early.First().Key - 1);

    public int HeldBatches => _early.Count;

    /// <summary>Accepts a batch in any order; one already handed out (wholly) is ignored.</summary>
    public void Add(NotificationBatch batch)
    {
        if (batch.LastId < NextExpectedId || batch.LastId < batch.FirstId)
        {
            return;
        }
        if (!_early.TryGetValue(batch.FirstId, out var held) || held.LastId < batch.LastId)
        {
            _early[batch.FirstId] = batch;
        }
    }

    /// <summary>Hands out, in id order, everything that follows on from what was handed out before.</summary>
    public List<SequencedNotification> TakeReady()
    {
        var ready = new List<SequencedNotification>();
        while (_early.Count > 0)
        {
            var (firstId, batch) = _early.First();
            if (firstId > NextExpectedId)
            {
                break;
            }
            _early.Remove(firstId);
            if (batch.LastId < NextExpectedId)
            {
                continue; // overlapped by what was handed out already
            }
            foreach (var notification in batch.Items)
            {
                if (notification.Id >= NextExpectedId)
                {
                    ready.Add(notification);
                }
            }
            NextExpectedId = batch.LastId + 1;
        }
        return ready;
    }
}
