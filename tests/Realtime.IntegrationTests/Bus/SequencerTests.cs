using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Bus;
using Realtime.Server.Contracts;
using Realtime.Server.Storage;

namespace Realtime.IntegrationTests.Bus;

/// <summary>
/// A real node's sequencer fed straight through its bus, as another node's batches would arrive:
/// out of order, or with one lost on the way. The rows are committed in PostgreSQL first (ids
/// taken under the id lock, as a node does), so a lost range can be read back from there.
/// </summary>
public sealed class SequencerTests(SequencerTests.NoIdlePollFixture fixture) : IClassFixture<SequencerTests.NoIdlePollFixture>
{
    /// <summary>No idle polling: the rows committed "elsewhere" must reach the sequencer through the bus (or its gap read) only.</summary>
    public sealed class NoIdlePollFixture : ServerFixture
    {
        protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Live:IdlePollInterval"] = "01:00:00" };
    }

    private RealtimeServer Server => fixture.Server;

    private Task<List<long>> CommitElsewhereAsync(string userId, int count) => CommitElsewhereAsync(fixture.Database, userId, count);

    /// <summary>Commits <paramref name="count"/> notifications for <paramref name="userId"/> the way another node would, titled "stored".</summary>
    internal static async Task<List<long>> CommitElsewhereAsync(TestDatabase database, string userId, int count)
    {
        await using var connection = await database.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await connection.ExecuteAsync("SELECT pg_advisory_xact_lock(@key)", new { key = AdvisoryLocks.NotificationIds }, transaction);
        var ids = new List<long>();
        for (var i = 0; i < count; i++)
        {
            var id = await connection.ExecuteScalarAsync<long>("SELECT nextval('notification_ids')", transaction: transaction);
            await connection.ExecuteAsync(
                """
                INSERT INTO notification_contents (id, last_id, category, title, priority) VALUES (@id, @id, 'general', 'stored', 'normal');
                INSERT INTO notifications (id, content_id, user_id, created_at) VALUES (@id, @id, @userId, now());
                """,
                new { id, userId }, transaction);
            ids.Add(id);
        }
        await transaction.CommitAsync();
        return ids;
    }

    /// <summary>The batch another node would publish for one id, its JSON titled "published".</summary>
    private static NotificationBatch Published(long id, string userId) => new(id, id,
        [new SequencedNotification(id, userId, DateTime.UtcNow, null, RawJson.FromText(
            $$"""{"id":{{id}},"userId":"{{userId}}","category":"general","title":"published","body":null,"data":null,"link":null,"priority":"normal","broadcast":false,"createdAt":"2026-11-22T00:00:00.000Z","expiresAt":null,"readAt":null}"""))]);

    /// <summary>
    /// Connected and resumed before anything exists for the user (so nothing is replayed and the
    /// connection is surely registered: SignalR answers the handshake before OnConnectedAsync runs,
    /// but handles invocations only after it).
    /// </summary>
    private async Task<HubClient> ConnectAsync(string userId)
    {
        var hub = await Server.ConnectHubAsync(Server.Tokens.User(userId));
        Assert.Equal(0, (await hub.InvokeAsync("Resume", 0)).GetInt32());
        return hub;
    }

    [Fact]
    public async Task BatchesArrivingOutOfOrderAreDeliveredInIdOrder()
    {
        var user = "seq-order-" + Guid.NewGuid().ToString("N")[..8];
        await using var hub = await ConnectAsync(user);
        var ids = await CommitElsewhereAsync(user, 3);
        var bus = Server.Services.GetRequiredService<IMessageBus>();

        await bus.PublishAsync(Published(ids[2], user), CancellationToken.None);
        await bus.PublishAsync(Published(ids[0], user), CancellationToken.None);
        await bus.PublishAsync(Published(ids[1], user), CancellationToken.None);

        var received = new List<long>();
        for (var i = 0; i < ids.Count; i++)
        {
            received.Add((await hub.NextAsync("notification")).Argument.GetProperty("id").GetInt64());
        }
        Assert.Equal(ids, received);
    }

    [Fact]
    public async Task ALostBatchIsReadFromPostgresAndDeliveredInItsPlace()
    {
        var user = "seq-lost-" + Guid.NewGuid().ToString("N")[..8];
        await using var hub = await ConnectAsync(user);
        var ids = await CommitElsewhereAsync(user, 3);
        var bus = Server.Services.GetRequiredService<IMessageBus>();

        await bus.PublishAsync(Published(ids[0], user), CancellationToken.None);
        await bus.PublishAsync(Published(ids[2], user), CancellationToken.None); // ids[1] never arrives

        var received = new List<(long Id, string? Title)>();
        for (var i = 0; i < ids.Count; i++)
        {
            var notification = (await hub.NextAsync("notification")).Argument;
            received.Add((notification.GetProperty("id").GetInt64(), notification.GetProperty("title").GetString()));
        }
        Assert.Equal([(ids[0], "published"), (ids[1], "stored"), (ids[2], "published")], received);
    }

    [Fact]
    public async Task ABatchDeliveredTwiceIsDeliveredOnce()
    {
        var user = "seq-twice-" + Guid.NewGuid().ToString("N")[..8];
        await using var hub = await ConnectAsync(user);
        var ids = await CommitElsewhereAsync(user, 2);
        var bus = Server.Services.GetRequiredService<IMessageBus>();

        await bus.PublishAsync(Published(ids[0], user), CancellationToken.None);
        await bus.PublishAsync(Published(ids[0], user), CancellationToken.None);
        await bus.PublishAsync(Published(ids[1], user), CancellationToken.None);

        Assert.Equal(ids[0], (await hub.NextAsync("notification")).Argument.GetProperty("id").GetInt64());
        Assert.Equal(ids[1], (await hub.NextAsync("notification")).Argument.GetProperty("id").GetInt64());
        Assert.Equal(2, hub.Received.Count(m => m.Target == "notification"));
    }
}
