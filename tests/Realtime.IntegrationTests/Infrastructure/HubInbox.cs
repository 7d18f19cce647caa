using System.Text;

namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>
/// Received invocations of one connection: the full log in wire order, plus the not-yet-consumed ones that
/// <see cref="TakeAsync"/> hands out (each message at most once). Thread-safe.
/// </summary>
internal sealed class HubInbox
{
    private const int MaxMessagesInDiagnostics = 20;

    private readonly Lock _gate = new();
    private readonly List<HubMessage> _log = [];
    private readonly List<HubMessage> _unconsumed = [];
    private readonly List<Waiter> _waiters = [];
    private HubCloseInfo? _closeInfo;

    /// <summary>Snapshot of every message added so far, in order.</summary>
    public IReadOnlyList<HubMessage> Snapshot()
    {
        lock (_gate)
        {
            return _log.ToArray();
        }
    }

    /// <summary>Records a message and hands it to the oldest waiter it matches, if any.</summary>
    public void Add(HubMessage message)
    {
        lock (_gate)
        {
            _log.Add(message);
            for (var i = 0; i < _waiters.Count; i++)
            {
                var waiter = _waiters[i];
                bool matches;
                try
                {
                    matches = waiter.Matches(message);
                }
                catch (Exception ex)
                {
                    // A throwing predicate fails its own waiter, never the receive loop.
                    _waiters.RemoveAt(i--);
                    waiter.Completion.TrySetException(ex);
                    continue;
                }

                if (matches)
                {
                    _waiters.RemoveAt(i);
                    waiter.Completion.TrySetResult(message);
                    return;
                }
            }

            _unconsumed.Add(message);
        }
    }

    /// <summary>No more messages will come: fails current and future waits that nothing buffered satisfies.</summary>
    public void Complete(HubCloseInfo closeInfo)
    {
        lock (_gate)
        {
            _closeInfo = closeInfo;
            foreach (var waiter in _waiters)
            {
                waiter.Completion.TrySetException(ClosedException(waiter.Target, closeInfo));
            }

            _waiters.Clear();
        }
    }

    /// <summary>
    /// Consumes the oldest unconsumed invocation of <paramref name="target"/> matching <paramref name="predicate"/>,
    /// waiting up to <paramref name="timeout"/> for one to arrive.
    /// </summary>
    /// <exception cref="TimeoutException">Nothing matched in time; the message lists what was received.</exception>
    /// <exception cref="HubConnectionClosedException">The connection closed and nothing buffered matched.</exception>
    public async Task<HubMessage> TakeAsync(string target, Func<HubMessage, bool>? predicate, TimeSpan timeout)
    {
        var waiter = new Waiter(target, predicate);
        lock (_gate)
        {
            for (var i = 0; i < _unconsumed.Count; i++)
            {
                if (waiter.Matches(_unconsumed[i]))
                {
                    var found = _unconsumed[i];
                    _unconsumed.RemoveAt(i);
                    return found;
                }
            }

            if (_closeInfo is not null)
            {
                throw ClosedException(target, _closeInfo);
            }

            _waiters.Add(waiter);
        }

        try
        {
            return await waiter.Completion.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            string diagnostics;
            lock (_gate)
            {
                if (!_waiters.Remove(waiter))
                {
                    // Completed concurrently with the timeout: its outcome stands.
                    diagnostics = "";
                }
                else
                {
                    diagnostics = DescribeReceived(target, predicate is not null, timeout);
                }
            }

            if (diagnostics.Length == 0)
            {
                return await waiter.Completion.Task;
            }

            throw new TimeoutException(diagnostics);
        }
    }

    // Called under _gate.
    private string DescribeReceived(string target, bool hasPredicate, TimeSpan timeout)
    {
        var text = new StringBuilder()
            .Append($"No invocation of '{target}'{(hasPredicate ? " matching the predicate" : "")} arrived within {timeout}. ")
            .Append($"Received {_log.Count} invocation(s), {_unconsumed.Count} not yet consumed");
        if (_log.Count == 0)
        {
            return text.Append('.').ToString();
        }

        var skipped = Math.Max(0, _log.Count - MaxMessagesInDiagnostics);
        text.Append(skipped > 0 ? $"; the last {MaxMessagesInDiagnostics}:" : ":");
        foreach (var message in _log.Skip(skipped))
        {
            text.AppendLine().Append("  ").Append(message);
        }

        return text.ToString();
    }

    private static HubConnectionClosedException ClosedException(string target, HubCloseInfo closeInfo) =>
        new($"No (further) invocation of '{target}' can arrive.", closeInfo);

    private sealed class Waiter(string target, Func<HubMessage, bool>? predicate)
    {
        public string Target { get; } = target;

        public TaskCompletionSource<HubMessage> Completion { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Matches(HubMessage message) =>
            string.Equals(message.Target, Target, StringComparison.Ordinal) && (predicate is null || predicate(message));
    }
}
