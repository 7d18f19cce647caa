namespace Realtime.Server.Preferences;

/// <summary>
/// Coalesces concurrent look-ups of keys into one load, the way the group commit batches writes:
/// whoever asks joins the pending batch; one load runs at a time, and the next batch forms while it
/// runs. A caller never joins a load already under way (it may have started before the caller's
/// own request, e.g. before a change the caller has seen committed): it waits for the next one.
/// </summary>
/// <remarks>
/// The load runs with no cancellation (it serves every caller of its batch); a caller that gives up
/// only stops waiting. A failed load fails exactly the callers of its batch; the next batch loads anew.
/// </remarks>
internal sealed class CoalescingLoader<TKey, TValue>(
    Func<IReadOnlyCollection<TKey>, Task<IReadOnlyDictionary<TKey, TValue>>> load, IEqualityComparer<TKey>? comparer = null)
    where TKey : notnull
{
    private readonly Lock _lock = new();
    private Batch? _pending;
    private bool _loading;

    /// <summary>The values of <paramref name="keys"/> (and of the other keys of the same batch), from the next load to start.</summary>
    public Task<IReadOnlyDictionary<TKey, TValue>> LoadAsync(IEnumerable<TKey> keys, CancellationToken cancellationToken)
    {
        Batch batch;
        bool start;
        lock (_lock)
        {
            batch = _pending ??= new Batch(comparer);
            batch.Keys.UnionWith(keys);
            start = !_loading;
            _loading = true;
        }
        if (start)
        {
            _ = RunAsync();
        }
        return batch.Completion.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Loads batch after batch until none is pending.</summary>
    private async Task RunAsync()
    {
        while (true)
        {
            Batch? batch;
            lock (_lock)
            {
                batch = _pending;
                _pending = null;
                if (batch is null)
                {
                    _loading = false;
                    return;
                }
            }
            try
            {
                batch.Completion.TrySetResult(await load(batch.Keys));
            }
            catch (Exception ex)
            {
                batch.Completion.TrySetException(ex);
            }
        }
    }

    private sealed class Batch(IEqualityComparer<TKey>? comparer)
    {
        public HashSet<TKey> Keys { get; } = new(comparer);

        public TaskCompletionSource<IReadOnlyDictionary<TKey, TValue>> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
