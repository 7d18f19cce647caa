using Realtime.Server.Bus;
using Realtime.Server.Contracts;
using Realtime.Server.Live;

namespace Realtime.Server.Tests.Live;

/// <summary>
/// A broadcast sweep's unread counts are queued deferred: they wait for the connection's next write
/// and go out with it, in queue order, or when the sweep flushes them. Writes here complete at once,
/// so every drain runs on the test's thread and the order of writes is exact.
/// </summary>
public sealed class DeferredEventTests : IDisposable
{
    private static readonly DateTime CreatedAt = new(2026, 11, 30, 22, 0, 0, DateTimeKind.Utc);

    private readonly RecordingServices _services = new();
    private readonly RecordingConnection _connection;

    public DeferredEventTests()
    {
        _connection = _services.Live();
    }

    private static EventFrames Count(int unread) => new(ClientTargets.UnreadCount, ClientPayloads.UnreadCount(unread));

    private static NotificationFrames Broadcast(long id) =>
        new(new SequencedNotification(id, null, CreatedAt, null, RawJson.FromText($$"""{"id":{{id}}}""")));

    [Fact]
    public void ADeferredCountIsNotWrittenUntilTheNextNotificationThenBothGoOutInQueueOrder()
    {
        _connection.EnqueueNotification(Broadcast(1));
        _connection.EnqueueDeferredEvent(Count(1));

        Assert.Equal(["notification 1"], _connection.Written);
        Assert.Equal(1, _connection.QueuedCount);

        _connection.EnqueueNotification(Broadcast(2));

        Assert.Equal(["notification 1", "unreadCount", "notification 2"], _connection.Written);
        Assert.Equal(0, _connection.QueuedCount);
    }

    [Fact]
    public void FlushDeferredWritesACountThatNothingTookAlongAndNothingTwice()
    {
        _connection.EnqueueDeferredEvent(Count(3));
        _connection.EnqueueDeferredEvent(Count(4));
        Assert.Empty(_connection.Written);

        _connection.FlushDeferred();
        _connection.FlushDeferred();

        Assert.Equal(["unreadCount", "unreadCount"], _connection.Written);
        Assert.Equal(0, _connection.QueuedCount);
    }

    [Fact]
    public void AnEventQueuedAfterADeferredCountWritesBothInOrder()
    {
        _connection.EnqueueDeferredEvent(Count(5));
        _connection.EnqueueEvent(new EventFrames(ClientTargets.NotificationRead, RawJson.FromText("{}")));

        Assert.Equal(["unreadCount", ClientTargets.NotificationRead], _connection.Written);
    }

    public void Dispose()
    {
        _connection.Complete();
        _services.Dispose();
    }
}
