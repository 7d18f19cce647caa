namespace Realtime.Server.Bus;

/// <summary>
/// Carries live messages to every node, this one included. Publishing never fails the caller's
/// committed work: a message the bus loses is recovered from PostgreSQL by the sequencer.
/// Handlers must only enqueue: they run on the bus's delivery thread.
/// </summary>
internal interface IMessageBus
{
    /// <summary>Publishes a committed batch to every node's sequencer, in the order of calls from one node.</summary>
    Task PublishAsync(NotificationBatch batch, CancellationToken cancellationToken);

    /// <summary>Publishes a per-user event to every node that may hold that user's connections.</summary>
    Task PublishAsync(UserEvent userEvent, CancellationToken cancellationToken);

    /// <summary>Tells every node, this one included, to drop an entry of one of its caches.</summary>
    Task PublishAsync(CacheInvalidation invalidation, CancellationToken cancellationToken);

    void OnBatch(Action<NotificationBatch> handler);

    void OnUserEvent(Action<UserEvent> handler);

    void OnCacheInvalidation(Action<CacheInvalidation> handler);

    /// <summary>False while messages from other nodes cannot arrive (their sequencers then poll PostgreSQL).</summary>
    bool IsConnected { get; }

    /// <summary>
    /// True for the bus of a node that runs alone: every commit is this node's own and reaches its
    /// sequencer in-process, so there is no other node to lose a message from or to die between its
    /// commit and its publish, and the sequencer's idle poll is only a rare safety net
    /// (<see cref="Live.LiveOptions.LocalIdlePollInterval"/>).
    /// </summary>
    bool IsLocal => false;

    /// <summary>Raised when the bus is connected again after an outage: time to catch up.</summary>
    event Action? Reconnected;

    /// <summary>Raised when the bus loses its connection (<see cref="IsConnected"/> turns false): time to poll.</summary>
    event Action? Disconnected;
}
