using Microsoft.Extensions.DependencyInjection;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Bus;
using Realtime.Server.Contracts;

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

    private Task<List<long>> CommitElsewhereAsync(string userId, int count) => OtherNode.CommitAsync(fixture.Database, userId, count);

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
