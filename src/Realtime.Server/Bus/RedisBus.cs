using System.ComponentModel.DataAnnotations;
using Realtime.Server.Observability;
using StackExchange.Redis;

namespace Realtime.Server.Bus;

internal sealed class RedisOptions
{
    public const string SectionName = "Redis";

    /// <summary>Prefix of every channel, so several deployments (or test runs) can share one Redis.</summary>
    [Required]
    [RegularExpression("^[A-Za-z0-9._:-]{1,100}$", ErrorMessage = "Redis:ChannelPrefix: 1 to 100 letters, digits, '.', '_', ':' or '-'.")]
    public string ChannelPrefix { get; set; } = "realtime";
}

/// <summary>Every Redis channel name, built in one place.</summary>
internal sealed class RedisChannels(string prefix)
{
    /// <summary>The one ordered stream of committed batches that every node reads.</summary>
    public string Batches { get; } = prefix + ":batches";

    /// <summary>Read-state and delete events; every node hands them to its own connections of that user.</summary>
    public string UserEvents { get; } = prefix + ":user-events";
}

/// <summary>
/// The bus of a node among many: Redis pub/sub (StackExchange.Redis 2.x). A publish reaches this
/// node's handlers at once, then goes to Redis for the others (its echo is ignored by node id).
/// Publishing never throws: a message Redis loses (it is down, or a subscription is being restored)
/// is read from PostgreSQL by the other nodes' sequencers. Handlers run one at a time, in order.
/// </summary>
internal sealed partial class RedisBus : BackgroundService, IMessageBus
{
    private static readonly TimeSpan SubscribeTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan SubscribeRetryDelay = TimeSpan.FromSeconds(1);
    private const string BatchKind = "batch", UserEventKind = "user_event", InvalidationKind = "cache_invalidation";

    private readonly ConnectionMultiplexer _redis;
    private readonly RedisChannels _channels;
    private readonly string _nodeId;
    private readonly ILogger<RedisBus> _logger;
    private readonly RealtimeMetrics? _metrics;
    private readonly List<Action<NotificationBatch>> _batchHandlers = [];
    private readonly List<Action<UserEvent>> _userEventHandlers = [];
    private readonly List<Action<CacheInvalidation>> _invalidationHandlers = [];

    public RedisBus(ConnectionMultiplexer redis, RedisChannels channels, NodeIdentity node, ILogger<RedisBus> logger, RealtimeMetrics? metrics = null)
    {
        _metrics = metrics;
        _redis = redis;
        _channels = channels;
        _nodeId = node.Id;
        _logger = logger;
        // 2.x reports its interactive and its subscription connection apart (RESP2): each restore
        // triggers a catch-up, which is idempotent, so whichever comes last finds everything back.
        _redis.ConnectionFailed += (_, e) =>
        {
            LogConnectionFailed(_logger, e.ConnectionType.ToString(), e.FailureType.ToString());
            Disconnected?.Invoke();
        };
        _redis.ConnectionRestored += (_, e) =>
        {
            LogConnectionRestored(_logger, e.ConnectionType.ToString());
            Reconnected?.Invoke();
        };
    }

    public bool IsConnected => _redis.IsConnected;

    public event Action? Reconnected;

    public event Action? Disconnected;

    public Task PublishAsync(NotificationBatch batch, CancellationToken cancellationToken)
    {
        // Only the node that committed a batch publishes it: counted once across the cluster.
        _metrics?.NotificationsCreated(batch.Items.Count);
        foreach (var handler in _batchHandlers)
        {
            handler(batch);
        }
        Publish(_channels.Batches, BatchKind, BusMessageCodec.Encode(_nodeId, batch));
        return Task.CompletedTask;
    }

    public Task PublishAsync(UserEvent userEvent, CancellationToken cancellationToken)
    {
        foreach (var handler in _userEventHandlers)
        {
            handler(userEvent);
        }
        Publish(_channels.UserEvents, UserEventKind, BusMessageCodec.Encode(_nodeId, userEvent));
        return Task.CompletedTask;
    }

    /// <summary>
    /// Carried on the user-events channel: both are small, per-key and unordered across keys. Awaited,
    /// unlike the others: Redis answers a PUBLISH once it has handed the message to every subscriber's
    /// connection, so when the caller's change is answered the other nodes are already being told.
    /// A failure is logged, never thrown: the entries expire on their own, and every cache is
    /// cleared when the bus reconnects.
    /// </summary>
    public async Task PublishAsync(CacheInvalidation invalidation, CancellationToken cancellationToken)
    {
        foreach (var handler in _invalidationHandlers)
        {
            handler(invalidation);
        }
        _metrics?.BusPublished(InvalidationKind);
        try
        {
            await _redis.GetSubscriber().PublishAsync(RedisChannel.Literal(_channels.UserEvents), BusMessageCodec.Encode(_nodeId, invalidation));
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            LogPublishFailed(_logger, _channels.UserEvents, ex.Message);
            _metrics?.BusPublishFailed(InvalidationKind);
        }
    }

    public void OnBatch(Action<NotificationBatch> handler) => _batchHandlers.Add(handler);

    public void OnUserEvent(Action<UserEvent> handler) => _userEventHandlers.Add(handler);

    public void OnCacheInvalidation(Action<CacheInvalidation> handler) => _invalidationHandlers.Add(handler);

    /// <summary>
    /// Subscribes once Redis answers (retrying while it is down at start-up); the client restores the
    /// subscriptions itself after later outages. Each channel's messages go through a
    /// <see cref="ChannelMessageQueue"/> read by one loop, so its handlers run one at a time, in
    /// order (2.x runs callback-style subscriptions concurrently).
    /// </summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var subscriber = _redis.GetSubscriber();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                (await subscriber.SubscribeAsync(RedisChannel.Literal(_channels.Batches)).WaitAsync(SubscribeTimeout, stoppingToken))
                    .OnMessage(message => Receive(message.Message));
                (await subscriber.SubscribeAsync(RedisChannel.Literal(_channels.UserEvents)).WaitAsync(SubscribeTimeout, stoppingToken))
                    .OnMessage(message => Receive(message.Message));
                LogSubscribed(_logger, _channels.Batches, _channels.UserEvents);
                return;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogSubscribeFailed(_logger, ex.Message);
                Unsubscribe(subscriber);
                await Task.Delay(SubscribeRetryDelay, stoppingToken);
            }
        }
    }

    /// <summary>No half-made subscription stays behind, to be restored later beside the next attempt's.</summary>
    private void Unsubscribe(ISubscriber subscriber)
    {
        try
        {
            subscriber.UnsubscribeAll(CommandFlags.FireAndForget);
        }
        catch (Exception ex)
        {
            LogSubscribeFailed(_logger, ex.Message);
        }
    }

    /// <summary>
    /// Not awaited, so the write path never waits for Redis; StackExchange.Redis writes commands of
    /// one connection in the order they were issued, which keeps one node's batches in order. While
    /// Redis is down a publish fails at once (<see cref="BacklogPolicy.FailFast"/>): nothing is held
    /// back to arrive late.
    /// </summary>
    private void Publish(string channel, string kind, byte[] message)
    {
        _metrics?.BusPublished(kind);
        Task<long> publishing;
        try
        {
            publishing = _redis.GetSubscriber().PublishAsync(RedisChannel.Literal(channel), message);
        }
        catch (Exception ex)
        {
            LogPublishFailed(_logger, channel, ex.Message);
            _metrics?.BusPublishFailed(kind);
            return;
        }
        publishing.ContinueWith(
            static (task, state) =>
            {
                var (logger, channel, metrics, kind) = ((ILogger, string, RealtimeMetrics?, string))state!;
                LogPublishFailed(logger, channel, task.Exception!.GetBaseException().Message);
                metrics?.BusPublishFailed(kind);
            },
            (_logger, channel, _metrics, kind), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }

    private void Receive(RedisValue message)
    {
        try
        {
            var (nodeId, batch, userEvent, invalidation) = BusMessageCodec.Decode((byte[])message!);
            if (nodeId == _nodeId)
            {
                return; // delivered locally when it was published
            }
            _metrics?.BusReceived(batch is not null ? BatchKind : userEvent is not null ? UserEventKind : InvalidationKind);
            if (batch is not null)
            {
                foreach (var handler in _batchHandlers)
                {
                    handler(batch);
                }
            }
            if (userEvent is not null)
            {
                foreach (var handler in _userEventHandlers)
                {
                    handler(userEvent);
                }
            }
            if (invalidation is not null)
            {
                foreach (var handler in _invalidationHandlers)
                {
                    handler(invalidation);
                }
            }
        }
        catch (FormatException ex)
        {
            LogUndecodable(_logger, ex.Message);
        }
    }

    public override void Dispose()
    {
        base.Dispose();
        _redis.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis {ConnectionType} connection failed ({FailureType}); delivery continues from PostgreSQL until it is back")]
    private static partial void LogConnectionFailed(ILogger logger, string connectionType, string failureType);

    [LoggerMessage(Level = LogLevel.Information, Message = "Redis {ConnectionType} connection restored")]
    private static partial void LogConnectionRestored(ILogger logger, string connectionType);

    [LoggerMessage(Level = LogLevel.Information, Message = "Subscribed to {BatchChannel} and {UserEventChannel}")]
    private static partial void LogSubscribed(ILogger logger, string batchChannel, string userEventChannel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Subscribing to Redis failed, retrying: {Reason}")]
    private static partial void LogSubscribeFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Publishing on {Channel} failed (other nodes read it from PostgreSQL): {Reason}")]
    private static partial void LogPublishFailed(ILogger logger, string channel, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored a bus message that could not be decoded: {Reason}")]
    private static partial void LogUndecodable(ILogger logger, string reason);
}
