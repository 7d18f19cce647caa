using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Collapse;

/// <summary>A collapse committed on node A reaches a client on node B through Redis, in order.</summary>
public sealed class CollapseKeyScaleOutTests(ScaleOutFixture fixture) : IClassFixture<ScaleOutFixture>
{
    [Fact]
    public async Task AClientOnTheOtherNodeGetsNotificationDeletedThenTheReplacement()
    {
        var user = "collapse-b-" + Guid.NewGuid().ToString("N")[..10];
        await using var hub = await fixture.B.ConnectHubAsync(fixture.B.Tokens.User(user));
        await hub.InvokeAsync("Resume", 0);
        var first = await fixture.A.SendAsync(user, "1 new message", new { collapseKey = "thread" });
        await hub.WaitForAsync("notification", n => n.GetProperty("id").GetInt64() == first);

        var second = await fixture.A.SendAsync(user, "2 new messages", new { collapseKey = "thread" });

        await hub.WaitForAsync("notification", n => n.GetProperty("id").GetInt64() == second);
        var received = hub.Received.Where(m => m.Target is "notification" or "notificationDeleted").Select(m => m.ToString()).ToList();
        Assert.Equal(3, received.Count);
        Assert.StartsWith($"notificationDeleted({{\"ids\":[{first}],\"unreadCount\":1}}", received[1]);
        Assert.StartsWith($"notification({{\"id\":{second},", received[2]);
    }
}
