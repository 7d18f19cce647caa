using Realtime.Server.Observability;

namespace Realtime.Server.Bus;

/// <summary>The bus of a node that runs alone: publishing hands the message straight to this node's handlers.</summary>
internal sealed class InProcessBus(RealtimeMetrics? metrics = null) : IMessageBus
{
    private readonly List<Action<NotificationBatch>> _batchHandlers = [];
    private readonly List<Action<UserEvent>> _userEventHandlers = [];
    private readonly List<Action<CacheInvalidation>> _invalidationHandlers = [];

    public Task PublishAsync(NotificationBatch batch, CancellationToken cancellationToken)
    {
        metrics?.NotificationsCreated(batch.Items.Count);
        foreach (var handler in _batchHandlers)
        {
            handler(batch);
        }
        return Task.CompletedTask;
    }

    public Task PublishAsync(UserEvent userEvent, CancellationToken cancellationToken)
    {
        foreach (var handler in _userEventHandlers)
        {
            handler(userEvent);
        }
        return Task.CompletedTask;
    }

    public Task PublishAsync(CacheInvalidation invalidation, CancellationToken cancellationToken)
    {
        foreach (var handler in _invalidationHandlers)
        {
            handler(invalidation);
        }
        return Task.CompletedTask;
    }

    public void OnBatch(Action<NotificationBatch> handler) => _batchHandlers.Add(handler);

    public void OnUserEvent(Action<UserEvent> handler) => _userEventHandlers.Add(handler);

    public void OnCacheInvalidation(Action<CacheInvalidation> handler) => _invalidationHandlers.Add(handler);

    public bool IsConnected => true;

    public bool IsLocal => true;

    public event Action? Reconnected
    {
        add { }
        remove { }
    }

    public event Action? Disconnected
    {
        add { }
        remove { }
    }
}
