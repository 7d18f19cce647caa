using Dapper;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Storage;

namespace Realtime.IntegrationTests.Live;

/// <summary>
/// Ids must grow in commit order, or a cursor could pass an id whose transaction had not committed
/// yet. Here the test itself plays a second node caught between allocating an id and committing it.
/// </summary>
public sealed class CommitOrderTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task ASendWaitsUntilAnEarlierAllocatedIdHasCommitted()
    {
        var user = "order-" + Guid.NewGuid().ToString("N")[..8];
        await using var otherNode = await fixture.Database.OpenAsync();
        await using var inFlight = await otherNode.BeginTransactionAsync();
        await otherNode.ExecuteAsync("SELECT pg_advisory_xact_lock(@key)", new { key = AdvisoryLocks.NotificationIds }, inFlight);
        var earlierId = await otherNode.ExecuteScalarAsync<long>("SELECT nextval('notification_ids')", transaction: inFlight);
        await otherNode.ExecuteAsync(
            """
            INSERT INTO notification_contents (id, last_id, category, title, priority) VALUES (@earlierId, @earlierId, 'general', 'in flight', 'normal');
            INSERT INTO notifications (id, content_id, user_id, created_at) VALUES (@earlierId, @earlierId, @user, now());
            """,
            new { earlierId, user }, inFlight);

        var send = fixture.Server.SendAsync(user, "later");
        var blocked = WaitUntilSomeoneWaitsForTheIdLockAsync();

        var first = await Task.WhenAny(send, blocked).WaitAsync(Bound);
        Assert.True(first == blocked, "The send committed while an earlier id was still in flight: a cursor reader could skip that id.");

        await inFlight.CommitAsync();
        var laterId = await send.WaitAsync(Bound);
        Assert.True(laterId > earlierId, $"{laterId} should be above {earlierId}");
    }

    private async Task WaitUntilSomeoneWaitsForTheIdLockAsync()
    {
        await using var observer = await fixture.Database.OpenAsync();
        await Eventually.WaitUntilAsync(
            () => observer.ExecuteScalarAsync<long>("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"),
            waiting => waiting > 0, Bound, "waited for the id lock by a send");
    }
}
