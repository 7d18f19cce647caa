using System.Globalization;
using System.Net;
using Dapper;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Push;
using static Realtime.IntegrationTests.Infrastructure.Eventually;

namespace Realtime.IntegrationTests.Preferences;

/// <summary>
/// Preferences acting on Web Push: <c>push: false</c> is never pushed; inside quiet hours a push
/// waits for the window's end in the user's time zone (the node's clock is moved forward, not
/// waited for), is dropped if read, deleted or expired meanwhile, and urgent ones go out at once.
/// </summary>
public sealed class QuietHoursPushTests(PushFixture fixture) : IClassFixture<PushFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private RealtimeServer Server => fixture.Server;
    private FakePushService PushService => fixture.PushService;

    [Fact]
    public async Task APushInsideQuietHoursIsHeldUntilTheWindowEndsAcrossMidnightThenSent()
    {
        var (user, subscriber) = await SubscribedUserAsync("held");
        var window = await QuietNowAsync(user);

        var id = await Server.SendAsync(user, "Held for the night");

        var job = await PlannedJobAsync(id);
        Assert.Equal(("queued", "held: quiet hours"), (job.State, job.LastError));
        Assert.Equal(window.EndsAt, job.DueAt);
        Assert.Empty(PushService.For(subscriber));

        Server.Time.Advance(window.EndsAt - Now() + TimeSpan.FromSeconds(1));

        var push = Assert.Single(await PushesAsync(subscriber, 1));
        Assert.Equal(id, push.NotificationId);
        await WaitForJobAsync(id, "sent");
    }

    [Theory]
    [InlineData("read")]
    [InlineData("deleted")]
    public async Task AHeldPushIsDroppedWhenTheNotificationIsReadOrDeletedBeforeTheWindowEnds(string what)
    {
        var (user, subscriber) = await SubscribedUserAsync("dropped");
        var window = await QuietNowAsync(user);
        var id = await Server.SendAsync(user, "Seen on the laptop");
        await PlannedJobAsync(id);

        using var inbox = new InboxClient(Server, user);
        var response = what == "read" ? await inbox.MarkReadAsync(id) : await inbox.DeleteAsync(id);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Server.Time.Advance(window.EndsAt - Now() + TimeSpan.FromSeconds(1));

        var job = await WaitForJobAsync(id, "cancelled");
        Assert.Contains(what, job.LastError);
        Assert.Empty(PushService.For(subscriber));
    }

    [Fact]
    public async Task APushThatWouldExpireBeforeTheWindowEndsIsNeverPlanned()
    {
        var (user, subscriber) = await SubscribedUserAsync("expiring");
        await QuietNowAsync(user);

        var id = await Server.SendAsync(user, "Only for the next minute", new { ttlSeconds = 60 });

        await PushApiClient.WaitUntilPlannedAsync(fixture.Database, id, Patience);
        Assert.Empty(await PushApiClient.JobsAsync(fixture.Database, id));
        Assert.Empty(PushService.For(subscriber));
    }

    [Fact]
    public async Task AnUrgentNotificationIsPushedInsideQuietHoursAtOnce()
    {
        var (user, subscriber) = await SubscribedUserAsync("urgent");
        await QuietNowAsync(user);

        var id = await Server.SendAsync(user, "Your card was charged twice", new { priority = "urgent" });

        Assert.Equal(id, Assert.Single(await PushesAsync(subscriber, 1)).NotificationId);
    }

    [Fact]
    public async Task OutsideQuietHoursAPushGoesOutAtOnce()
    {
        var (user, subscriber) = await SubscribedUserAsync("daytime");
        var window = await QuietNowAsync(user);
        // The same window, moved to start an hour after its end: now is outside it.
        await PreferencesApi.SaveAsync(Server, user, new { timeZone = window.TimeZone, quietHours = new { start = "02:00", end = "03:00" } });

        var id = await Server.SendAsync(user, "Daytime");

        Assert.Equal(id, Assert.Single(await PushesAsync(subscriber, 1)).NotificationId);
    }

    [Theory]
    [InlineData("channel")]
    [InlineData("category")]
    public async Task PushOffIsNeverPushedButStoredAsUsual(string where)
    {
        var (user, subscriber) = await SubscribedUserAsync("push-off");
        object preferences = where == "channel"
            ? new { channels = new { push = false } }
            : new { categories = new Dictionary<string, object> { ["order.shipped"] = new { push = false } } };
        await PreferencesApi.SaveAsync(Server, user, preferences);

        var id = await Server.SendAsync(user, "Shipped", new { category = "order.shipped" });

        await PushApiClient.WaitUntilPlannedAsync(fixture.Database, id, Patience);
        Assert.Empty(await PushApiClient.JobsAsync(fixture.Database, id));
        Assert.Empty(PushService.For(subscriber));
        using var inbox = new InboxClient(Server, user);
        Assert.Contains(id, await inbox.ListIdsAsync());
    }

    [Fact]
    public async Task MandatoryCategoriesArePushedEvenWithPushOffByDefault()
    {
        var (user, subscriber) = await SubscribedUserAsync("mandatory");
        await PreferencesApi.SaveAsync(Server, user, new { channels = new { push = false } });

        var id = await Server.SendAsync(user, "New sign-in from Linz", new { category = "security" });

        Assert.Equal(id, Assert.Single(await PushesAsync(subscriber, 1)).NotificationId);
    }

    [Fact]
    public async Task AHeldPushIsCancelledWhenTheUserTurnsPushOffBeforeTheWindowEnds()
    {
        var (user, subscriber) = await SubscribedUserAsync("changed-mind");
        var window = await QuietNowAsync(user);
        var id = await Server.SendAsync(user, "Held, then unwanted");
        await PlannedJobAsync(id);

        await PreferencesApi.SaveAsync(Server, user, new { timeZone = window.TimeZone, channels = new { push = false } });
        Server.Time.Advance(window.EndsAt - Now() + TimeSpan.FromSeconds(1));

        var job = await WaitForJobAsync(id, "cancelled");
        Assert.Contains("preferences", job.LastError);
        Assert.Empty(PushService.For(subscriber));
    }

    private DateTime Now() => Server.Time.GetUtcNow().UtcDateTime;

    /// <summary>
    /// Gives <paramref name="user"/> quiet hours from 22:00 to 01:00 in a fixed-offset zone where it
    /// is now between 23:00 and midnight: inside a window that crosses midnight, ending 1 to 2 hours from now.
    /// </summary>
    private async Task<QuietWindow> QuietNowAsync(string user)
    {
        var now = Now();
        var offset = now.Hour >= 9 ? 23 - now.Hour : -1 - now.Hour; // local hour 23; Etc zones span UTC-12..UTC+14
        var zone = offset switch { 0 => "Etc/GMT", > 0 => $"Etc/GMT-{offset}", _ => $"Etc/GMT+{-offset}" }; // POSIX signs: Etc/GMT-2 is UTC+2
        var localMidnight = now.Date.AddHours(now.Hour).AddHours(offset).Date.AddDays(1);
        var endsAt = DateTime.SpecifyKind(localMidnight.AddHours(1).AddHours(-offset), DateTimeKind.Utc);
        await PreferencesApi.SaveAsync(Server, user, new { timeZone = zone, quietHours = new { start = "22:00", end = "01:00" } });
        return new QuietWindow(zone, endsAt);
    }

    private async Task<(string User, FakeSubscriber Subscriber)> SubscribedUserAsync(string prefix)
    {
        var user = prefix + "-" + Guid.NewGuid().ToString("N")[..10];
        var subscriber = PushService.NewSubscriber();
        using var client = Server.CreateApiClient(Server.Tokens.User(user));
        await PushApiClient.SubscribeAsync(client, subscriber);
        return (user, subscriber);
    }

    private async Task<HeldJob> PlannedJobAsync(long notificationId)
    {
        await PushApiClient.WaitUntilPlannedAsync(fixture.Database, notificationId, Patience);
        return await QuietHoursJobs.SingleAsync(fixture.Database, notificationId);
    }

    private Task<IReadOnlyList<ReceivedPush>> PushesAsync(FakeSubscriber subscriber, int count) =>
        WaitUntilAsync(() => Task.FromResult(PushService.For(subscriber)), r => r.Count >= count && r.Take(count).All(p => p.AnsweredStatus is not null),
            Patience, $"{count} answered pushes to {subscriber.Id}", r => string.Join("; ", r));

    private Task<HeldJob> WaitForJobAsync(long notificationId, string state) =>
        WaitUntilAsync(() => QuietHoursJobs.SingleAsync(fixture.Database, notificationId), job => job.State == state,
            Patience, $"the push job of {notificationId} {state}", job => job.ToString());

    private sealed record QuietWindow(string TimeZone, DateTime EndsAt);
}

/// <summary>A push job as the quiet-hours tests read it: its state and when it is due.</summary>
public sealed record HeldJob(string State, string? LastError, DateTime DueAt)
{
    public override string ToString() => $"{State} ({LastError}) due {DueAt.ToString("o", CultureInfo.InvariantCulture)}";
}

internal static class QuietHoursJobs
{
    public static async Task<HeldJob> SingleAsync(TestDatabase database, long notificationId)
    {
        await using var connection = await database.OpenAsync();
        var row = await connection.QuerySingleAsync<(string State, string? LastError, DateTime DueAt)>(
            "SELECT state, last_error, due_at FROM push_jobs WHERE notification_id = @Id", new { Id = notificationId });
        return new HeldJob(row.State, row.LastError, DateTime.SpecifyKind(row.DueAt, DateTimeKind.Utc));
    }
}

/// <summary>
/// Quiet hours across a DST change, with the node's clock moved to the night Vienna springs
/// forward: 07:00 local is then 05:00 UTC, not 06:00.
/// </summary>
public sealed class QuietHoursDstPushTests(PushFixture fixture) : IClassFixture<PushFixture>
{
    [Fact]
    public async Task AHeldPushGoesOutAtTheWindowsEndInLocalTimeOnTheNightTheClocksSpringForward()
    {
        var vienna = TimeZoneInfo.FindSystemTimeZoneById("Europe/Vienna");
        var server = fixture.Server;
        var now = server.Time.GetUtcNow().UtcDateTime;
        var day = now.Date.AddDays(1);
        while (vienna.GetUtcOffset(day) >= vienna.GetUtcOffset(day.AddDays(1)))
        {
            day = day.AddDays(1);
        }
        var springForward = day; // the clocks jump at 01:00 UTC that day
        server.Time.Advance(springForward.AddHours(-1.5) - now); // 23:30 CET the evening before

        var user = "dst-" + Guid.NewGuid().ToString("N")[..10];
        var subscriber = fixture.PushService.NewSubscriber();
        using (var client = server.CreateApiClient(server.Tokens.User(user)))
        {
            await PushApiClient.SubscribeAsync(client, subscriber);
        }
        await PreferencesApi.SaveAsync(server, user, new { timeZone = "Europe/Vienna", quietHours = new { start = "22:00", end = "07:00" } });
        var id = await server.SendAsync(user, "Good morning");

        await PushApiClient.WaitUntilPlannedAsync(fixture.Database, id, TimeSpan.FromSeconds(15));
        var job = await QuietHoursJobs.SingleAsync(fixture.Database, id);
        Assert.Equal(springForward.AddHours(5), job.DueAt);

        server.Time.Advance(springForward.AddHours(5).AddSeconds(1) - server.Time.GetUtcNow().UtcDateTime);

        var pushes = await WaitUntilAsync(() => Task.FromResult(fixture.PushService.For(subscriber)), r => r.Count == 1 && r[0].AnsweredStatus is not null,
            TimeSpan.FromSeconds(15), "the held push", r => string.Join("; ", r));
        Assert.Equal(id, pushes[0].NotificationId);
    }
}
