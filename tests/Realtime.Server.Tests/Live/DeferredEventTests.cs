using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Realtime.Server.Bus;
using Realtime.Server.Contracts;
using Realtime.Server.Live;
using Realtime.Server.Notifications;
using Realtime.Server.Observability;

namespace Realtime.Server.Tests.Live;

/// <summary>
/// A broadcast sweep's unread counts are queued deferred: they wait for the connection's next write
/// and go out with it, in queue order, or when the sweep flushes them. Writes here complete at once,
/// so every drain runs on the test's thread and the order of writes is exact.
/// </summary>
public sealed class DeferredEventTests : IDisposable
{
    private static readonly DateTime CreatedAt = new(2026, 11, 30, 22, 0, 0, DateTimeKind.Utc);

    private readonly ServiceProvider _metricsServices = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly NpgsqlDataSource _unusedDatabase = NpgsqlDataSource.Create("Host=127.0.0.1;Port=1"); // nothing here reads PostgreSQL
    private readonly RecordingConnection _connection;

    public DeferredEventTests()
    {
        var time = TimeProvider.System;
        var services = new LiveServices(new InboxStore(_unusedDatabase, time), new ResumeReader(_unusedDatabase, time, NullLogger<ResumeReader>.Instance),
            time, Options.Create(new LiveOptions()), NullLogger<LiveConnection>.Instance, new RealtimeMetrics(_metricsServices.GetRequiredService<IMeterFactory>()));
        _connection = new RecordingConnection(services);
        _connection.Start(CancellationToken.None);
        _connection.StartLiveFromNow(lastCommittedId: null);
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
        _unusedDatabase.Dispose();
        _metricsServices.Dispose();
    }

    /// <summary>A transport whose writes complete at once and are recorded, in order.</summary>
    private sealed class RecordingConnection(LiveServices services) : LiveConnection("c1", "alice", "test", services)
    {
        public List<string> Written { get; } = [];

        protected override ValueTask WriteAsync(string target, RawJson payload, long? id, CancellationToken cancellationToken)
        {
            Written.Add(id is { } notificationId ? $"{target} {notificationId}" : target);
            return ValueTask.CompletedTask;
        }

        public override void Close()
        {
        }
    }
}
