using Realtime.IntegrationTests.Bus;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Live;

/// <summary>
/// "Without a cursor the stream is live from now" (API.md): a notification committed before the
/// stream opened is never sent on it, however late this node's sequencer hands it over (another
/// node's commit it has not heard of yet, a delivery delayed by load). No idle polling here, so
/// the older notification reaches the sequencer only through the gap read the newer one causes.
/// </summary>
public sealed class SseLiveFromNowTests(SequencerTests.NoIdlePollFixture fixture) : IClassFixture<SequencerTests.NoIdlePollFixture>
{
    private RealtimeServer Server => fixture.Server;

    [Fact]
    public async Task ANotificationCommittedBeforeTheStreamOpenedButDeliveredAfterIsNotSentOnIt()
    {
        var user = "sse-from-now-" + Guid.NewGuid().ToString("N")[..8];
        var before = (await OtherNode.CommitAsync(fixture.Database, user, 1)).Single(); // committed, not yet delivered on this node
        await using var stream = await SseTestClient.ConnectAsync(Server.BaseAddress, Server.Tokens.User(user));
        await stream.Retry.WaitAsync(SseTestClient.DefaultTimeout);

        var after = await Server.SendAsync(user, "after"); // its batch makes the sequencer read `before` from PostgreSQL first

        Assert.Equal(after.ToString(), (await stream.NextAsync("notification")).Id);
        Assert.Equal([after], stream.NotificationIds());
        Assert.True(before < after);
    }
}
