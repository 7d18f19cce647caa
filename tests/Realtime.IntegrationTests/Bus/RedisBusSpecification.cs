using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Bus;
using Realtime.Server.Contracts;

namespace Realtime.IntegrationTests.Bus;

/// <summary>The same promises on Redis, plus what only a bus between nodes has to keep.</summary>
public sealed class RedisBusSpecification : MessageBusSpecification
{
    private readonly string _prefix = TestRedis.NewChannelPrefix();
    private readonly List<RedisBus> _nodes = [];

    private protected override Task<IMessageBus> CreateNodeAsync() => StartNodeAsync(_prefix).ContinueWith(t => (IMessageBus)t.Result);

    private async Task<RedisBus> StartNodeAsync(string prefix)
    {
        var options = ConfigurationOptions.Parse(TestRedis.ConnectionString);
        options.AbortOnConnectFail = false;
        var redis = await ConnectionMultiplexer.ConnectAsync(options);
        var bus = new RedisBus(redis, new RedisChannels(prefix), new NodeIdentity(), NullLogger<RedisBus>.Instance);
        lock (_nodes) _nodes.Add(bus);
        // With abortConnect=false the multiplexer may still be connecting (a busy machine): a publish
        // before that is lost by design (other nodes read PostgreSQL), so these tests wait for it.
        await Eventually.WaitUntilAsync(() => redis.IsConnected, Bound, "connected to Redis");
        await bus.StartAsync(CancellationToken.None);
        await bus.ExecuteTask!.WaitAsync(Bound); // subscribed
        return bus;
    }

    public override async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.StopAsync(CancellationToken.None);
            node.Dispose();
        }
    }

    [Fact]
    public async Task AnotherNodeGetsEveryBatchOnceAndInOrder()
    {
        var publisher = await StartNodeAsync(_prefix);
        var listener = await StartNodeAsync(_prefix);
        var received = new ConcurrentQueue<long>();
        var all = new TaskCompletionSource();
        listener.OnBatch(batch =>
        {
            received.Enqueue(batch.FirstId);
            if (batch.LastId == 500) all.TrySetResult();
        });

        for (var id = 1; id <= 500; id++)
        {
            await publisher.PublishAsync(Batch(id, id), CancellationToken.None);
        }

        await all.Task.WaitAsync(Bound);
        Assert.Equal(Enumerable.Range(1, 500).Select(i => (long)i), received);
    }

    [Fact]
    public async Task ThePublishingNodeDoesNotGetItsOwnBatchBackFromRedis()
    {
        var publisher = await StartNodeAsync(_prefix);
        var listener = await StartNodeAsync(_prefix);
        var onPublisher = new ConcurrentQueue<long>();
        var arrived = new TaskCompletionSource();
        publisher.OnBatch(batch => onPublisher.Enqueue(batch.FirstId));
        listener.OnBatch(_ => arrived.TrySetResult());

        await publisher.PublishAsync(Batch(1, 1), CancellationToken.None);
        await arrived.Task.WaitAsync(Bound);
        // A later message from the other node proves the echo (sent before it) had its chance to arrive.
        var later = new TaskCompletionSource();
        publisher.OnUserEvent(_ => later.TrySetResult());
        await listener.PublishAsync(new UserEvent("bob", "unreadCount", RawJson.FromText("{}")), CancellationToken.None);
        await later.Task.WaitAsync(Bound);

        Assert.Equal([1L], onPublisher);
    }

    [Fact]
    public async Task UserEventsReachOtherNodes()
    {
        var publisher = await StartNodeAsync(_prefix);
        var listener = await StartNodeAsync(_prefix);
        var arrived = new TaskCompletionSource<UserEvent>();
        listener.OnUserEvent(e => arrived.TrySetResult(e));

        await publisher.PublishAsync(new UserEvent("carol", "notificationRead", RawJson.FromText("""{"ids":[5]}""")), CancellationToken.None);

        var userEvent = await arrived.Task.WaitAsync(Bound);
        Assert.Equal("carol", userEvent.UserId);
        Assert.Equal("""{"ids":[5]}""", userEvent.Payload.ToString());
    }

    [Fact]
    public async Task NodesWithAnotherChannelPrefixHearNothing()
    {
        var publisher = await StartNodeAsync(_prefix);
        var stranger = await StartNodeAsync(TestRedis.NewChannelPrefix());
        var sameDeployment = await StartNodeAsync(_prefix);
        var strangerHeard = 0;
        stranger.OnBatch(_ => Interlocked.Increment(ref strangerHeard));
        var arrived = new TaskCompletionSource();
        sameDeployment.OnBatch(_ => arrived.TrySetResult());

        // Published until the same deployment hears it, so the stranger had every chance to hear it too.
        await Eventually.WaitUntilAsync(
            async () =>
            {
                await publisher.PublishAsync(Batch(1, 1), CancellationToken.None);
                return arrived.Task.IsCompleted;
            },
            heard => heard, Bound, "heard by the node with the same prefix", interval: TimeSpan.FromMilliseconds(100));
        Assert.Equal(0, Volatile.Read(ref strangerHeard));
    }
}
