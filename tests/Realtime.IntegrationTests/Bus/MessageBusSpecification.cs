using System.Collections.Concurrent;
using Realtime.Server.Bus;
using Realtime.Server.Contracts;

namespace Realtime.IntegrationTests.Bus;

/// <summary>
/// What every <see cref="IMessageBus"/> promises, run against each implementation (as SignalR's
/// ScaleoutHubLifetimeManagerTests are): a publish reaches this node's handlers exactly once,
/// batches in the order published, and publishing never throws.
/// </summary>
public abstract class MessageBusSpecification : IAsyncLifetime
{
    protected static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    /// <summary>A node's bus, started.</summary>
    private protected abstract Task<IMessageBus> CreateNodeAsync();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => Task.CompletedTask;

    private protected static NotificationBatch Batch(long firstId, long lastId, string? userId = "alice") => new(
        firstId, lastId,
        Enumerable.Range(0, (int)(lastId - firstId + 1))
            .Select(i => new SequencedNotification(firstId + i, userId, DateTime.UtcNow, null, RawJson.FromText($$"""{"id":{{firstId + i}}}""")))
            .ToList());

    [Fact]
    public async Task APublishedBatchReachesThisNodesHandlersExactlyOnce()
    {
        var bus = await CreateNodeAsync();
        var received = new ConcurrentQueue<NotificationBatch>();
        bus.OnBatch(received.Enqueue);

        await bus.PublishAsync(Batch(1, 3), CancellationToken.None);

        Assert.Single(received);
        Assert.Equal([1L, 2L, 3L], received.Single().Items.Select(i => i.Id));
        Assert.Equal("""{"id":2}""", received.Single().Items[1].Json.ToString());
    }

    [Fact]
    public async Task BatchesReachThisNodeInTheOrderTheyWerePublished()
    {
        var bus = await CreateNodeAsync();
        var received = new ConcurrentQueue<long>();
        bus.OnBatch(batch => received.Enqueue(batch.FirstId));

        for (var id = 1; id <= 200; id++)
        {
            await bus.PublishAsync(Batch(id, id), CancellationToken.None);
        }

        Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), received);
    }

    [Fact]
    public async Task AUserEventReachesThisNodesHandlersExactlyOnce()
    {
        var bus = await CreateNodeAsync();
        var received = new ConcurrentQueue<UserEvent>();
        bus.OnUserEvent(received.Enqueue);

        await bus.PublishAsync(new UserEvent("alice", "unreadCount", RawJson.FromText("""{"unreadCount":3}""")), CancellationToken.None);

        var userEvent = Assert.Single(received);
        Assert.Equal("alice", userEvent.UserId);
        Assert.Equal("unreadCount", userEvent.Target);
        Assert.Equal("""{"unreadCount":3}""", userEvent.Payload.ToString());
    }

    [Fact]
    public async Task ABroadcastBatchKeepsItsNullUser()
    {
        var bus = await CreateNodeAsync();
        var received = new ConcurrentQueue<NotificationBatch>();
        bus.OnBatch(received.Enqueue);

        await bus.PublishAsync(Batch(7, 7, userId: null), CancellationToken.None);

        Assert.Null(Assert.Single(received).Items.Single().UserId);
    }
}

public sealed class InProcessBusSpecification : MessageBusSpecification
{
    private protected override Task<IMessageBus> CreateNodeAsync() => Task.FromResult<IMessageBus>(new InProcessBus());
}
