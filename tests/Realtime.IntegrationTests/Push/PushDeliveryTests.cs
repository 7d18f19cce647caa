using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.SignalR.Client;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Presence;
using static Realtime.IntegrationTests.Infrastructure.Eventually;

namespace Realtime.IntegrationTests.Push;

/// <summary>
/// Web Push end to end: the real node pushes to a fake push service on loopback, which decrypts
/// every push with the test's own RFC 8291 decoder and checks its VAPID token with an independent
/// JOSE library. Only users with no live connection anywhere get pushes.
/// </summary>
public sealed class PushDeliveryTests(PushFixture fixture) : IClassFixture<PushFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private RealtimeServer Server => fixture.Server;
    private FakePushService PushService => fixture.PushService;

    [Fact]
    public async Task AnOfflineUserGetsAPushThatDecryptsToTheNotification()
    {
        var (user, subscriber) = await SubscribedUserAsync("offline");
        var id = await Server.SendAsync(user, "Your order shipped", new
        {
            body = "Order #123 is on its way",
            category = "order.shipped",
            data = new { orderId = "123" },
            link = "https://shop.example/orders/123",
            priority = "high",
            ttlSeconds = 3600,
        });

        var push = (await PushesAsync(subscriber, 1)).Single();
        Assert.True(push.DecryptError is null && push.VapidError is null, push.ToString());
        Assert.Equal(201, push.AnsweredStatus);
        Assert.Equal("aes128gcm", push.Headers["Content-Encoding"]);
        Assert.Equal("high", push.Headers["Urgency"]);
        var ttl = int.Parse(push.Headers["TTL"], CultureInfo.InvariantCulture);
        Assert.InRange(ttl, 3540, 3600);
        Assert.Equal(PushFixture.Subject, push.Vapid!.GetPayloadValue<string>("sub"));
        Assert.True(push.Body.Length <= 4096, $"{push.Body.Length} bytes");

        // The payload is the notification object, as the inbox serves it.
        using var inbox = new InboxClient(Server, user);
        var listed = (await inbox.ListAsync()).GetProperty("items").EnumerateArray().Single(n => n.GetProperty("id").GetInt64() == id);
        Assert.Equal(listed.GetRawText(), push.Json.GetRawText());

        var job = await WaitForJobAsync(id, "sent");
        Assert.Equal(201, job.Status);
        Assert.Equal(1, job.Attempts);
        await using var connection = await fixture.Database.OpenAsync();
        var lastSuccess = await connection.ExecuteScalarAsync<DateTime?>("SELECT last_success_at FROM push_subscriptions WHERE endpoint = @Endpoint", new { subscriber.Endpoint });
        Assert.NotNull(lastSuccess);
    }

    [Theory]
    [InlineData("low", "low")]
    [InlineData("normal", null)]
    [InlineData("urgent", "high")]
    public async Task UrgencyFollowsThePriorityAndWithoutATtlThePushLivesFourWeeks(string priority, string? urgency)
    {
        var (user, subscriber) = await SubscribedUserAsync("urgency");
        await Server.SendAsync(user, "Priority " + priority, new { priority });

        var push = (await PushesAsync(subscriber, 1)).Single();
        Assert.Equal(urgency ?? "normal", push.Headers.GetValueOrDefault("Urgency", "normal"));
        Assert.InRange(int.Parse(push.Headers["TTL"], CultureInfo.InvariantCulture), 28 * 24 * 3600 - 60, 28 * 24 * 3600);
        Assert.Equal(priority, push.Json.GetProperty("priority").GetString());
    }

    [Fact]
    public async Task ACollapseKeyBecomesATopicHeaderAndTravelsInThePayload()
    {
        var (user, subscriber) = await SubscribedUserAsync("topic");
        // Each is pushed before the next is sent: a newer one with the key would replace an older one not yet planned.
        await Server.SendAsync(user, "2 new messages", new { collapseKey = "chat-42" });
        await PushesAsync(subscriber, 1);
        await Server.SendAsync(user, "No key");
        await PushesAsync(subscriber, 2);
        await Server.SendAsync(user, "3 new messages", new { collapseKey = "chat-42" });

        var pushes = await PushesAsync(subscriber, 3);
        var keyed = pushes.Where(p => p.Json.GetProperty("collapseKey").ValueKind == JsonValueKind.String).ToList();
        Assert.Equal(2, keyed.Count);
        var topic = keyed[0].Headers["Topic"];
        Assert.Equal(topic, keyed[1].Headers["Topic"]);
        Assert.Matches("^[A-Za-z0-9_-]{1,32}$", topic);
        Assert.DoesNotContain("chat", topic);
        Assert.False(pushes.Single(p => p.Json.GetProperty("collapseKey").ValueKind == JsonValueKind.Null).Headers.ContainsKey("Topic"));
    }

    [Fact]
    public async Task AUserConnectedToTheHubGetsNoPushUntilTheConnectionCloses()
    {
        var (user, subscriber) = await SubscribedUserAsync("hub");
        var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(Server.BaseAddress, "/hubs/notifications"), o => o.AccessTokenProvider = () => Task.FromResult<string?>(Server.Tokens.User(user)))
            .Build();
        var live = new List<long>();
        hub.On<JsonElement>("notification", n => { lock (live) live.Add(n.GetProperty("id").GetInt64()); });
        await hub.StartAsync().WaitAsync(Patience);
        await PresenceProbe.WaitForConnectionCountAsync(Server, user, 1, Patience);

        var whileOnline = await Server.SendAsync(user, "While online");
        await AssertNotPushedAsync(whileOnline, subscriber);
        await WaitUntilAsync(() => Task.FromResult(Snapshot(live)), ids => ids.Contains(whileOnline), Patience, "the live notification on the hub");

        await hub.DisposeAsync();
        await PresenceProbe.WaitForConnectionCountAsync(Server, user, 0, Patience);
        var afterwards = await Server.SendAsync(user, "After closing the app");
        var push = (await PushesAsync(subscriber, 1)).Single();
        Assert.Equal(afterwards, push.NotificationId);
    }

    [Fact]
    public async Task AUserWithAnOpenSseStreamGetsNoPush()
    {
        var (user, subscriber) = await SubscribedUserAsync("sse");
        await using var sse = await SseTestClient.ConnectAsync(Server.BaseAddress, Server.Tokens.User(user));
        Assert.Equal(HttpStatusCode.OK, sse.Response.StatusCode);
        await PresenceProbe.WaitForConnectionCountAsync(Server, user, 1, Patience);

        var whileOnline = await Server.SendAsync(user, "While the tab is open");
        await AssertNotPushedAsync(whileOnline, subscriber);
    }

    [Fact]
    public async Task A410DeletesTheSubscriptionAndNothingIsPushedToItAgain()
    {
        var (user, subscriber) = await SubscribedUserAsync("gone", _ => new FakeAnswer(410));
        var first = await Server.SendAsync(user, "To a subscription that expired");
        var job = await WaitForJobAsync(first, "gone");
        Assert.Equal(410, job.Status);
        Assert.Equal(0, await PushApiClient.SubscriptionCountAsync(fixture.Database, subscriber.Endpoint));

        var second = await Server.SendAsync(user, "Nobody to push to");
        await PushApiClient.WaitUntilPlannedAsync(fixture.Database, second, Patience);
        Assert.Empty(await PushApiClient.JobsAsync(fixture.Database, second));
        Assert.Single(PushService.For(subscriber));
    }

    [Fact]
    public async Task A404AlsoDeletesTheSubscription()
    {
        var (user, subscriber) = await SubscribedUserAsync("not-found", _ => new FakeAnswer(404));
        var id = await Server.SendAsync(user, "To an unknown subscription");
        Assert.Equal(404, (await WaitForJobAsync(id, "gone")).Status);
        Assert.Equal(0, await PushApiClient.SubscriptionCountAsync(fixture.Database, subscriber.Endpoint));
    }

    [Fact]
    public async Task A429WithRetryAfterOneIsRetriedAfterAtLeastASecondAndThenStops()
    {
        var (user, subscriber) = await SubscribedUserAsync("throttled", n => n == 1 ? new FakeAnswer(429, RetryAfter: "1") : FakeAnswer.Created);
        var id = await Server.SendAsync(user, "Throttled once");

        var pushes = await PushesAsync(subscriber, 2);
        Assert.Equal([429, 201], pushes.Select(p => p.AnsweredStatus ?? 0));
        var gap = pushes[1].ArrivedAt - pushes[0].ArrivedAt;
        Assert.True(gap >= TimeSpan.FromSeconds(1), $"retried after {gap.TotalMilliseconds} ms");
        Assert.All(pushes, p => Assert.Equal(id, p.NotificationId));
        var job = await WaitForJobAsync(id, "sent");
        Assert.Equal(2, job.Attempts);

        // Stops: the next notification is the next request, and nothing more came for the first.
        var next = await Server.SendAsync(user, "Next");
        var all = await PushesAsync(subscriber, 3);
        Assert.Equal(next, all[2].NotificationId);
        Assert.Equal(2, PushService.For(subscriber).Count(p => p.NotificationId == id));
    }

    [Fact]
    public async Task ServerErrorsAreRetriedWithBackoff()
    {
        var (user, subscriber) = await SubscribedUserAsync("flaky", n => n <= 2 ? new FakeAnswer(503) : FakeAnswer.Created);
        var id = await Server.SendAsync(user, "Through a flaky push service");
        var pushes = await PushesAsync(subscriber, 3);
        Assert.Equal([503, 503, 201], pushes.Select(p => p.AnsweredStatus ?? 0));
        Assert.True(pushes[2].ArrivedAt - pushes[1].ArrivedAt >= TimeSpan.FromSeconds(2), "the second retry waits about twice as long");
        Assert.Equal(3, (await WaitForJobAsync(id, "sent")).Attempts);
    }

    [Fact]
    public async Task APushThatStaysThrottledGivesUpWhenTheNotificationExpires()
    {
        var (user, subscriber) = await SubscribedUserAsync("always-throttled", _ => new FakeAnswer(429, RetryAfter: "1"));
        var id = await Server.SendAsync(user, "Short-lived", new { ttlSeconds = 5 });
        var job = await WaitForJobAsync(id, "expired", TimeSpan.FromSeconds(20));
        Assert.Equal(429, job.Status);
        Assert.Equal(job.Attempts, PushService.For(subscriber).Count);
        Assert.InRange(job.Attempts, 1, 4);
    }

    [Fact]
    public async Task AnotherClientErrorIsRecordedAndNotRetried()
    {
        var (user, subscriber) = await SubscribedUserAsync("bad-request", _ => new FakeAnswer(400));
        var id = await Server.SendAsync(user, "Refused");
        var job = await WaitForJobAsync(id, "failed");
        Assert.Equal(400, job.Status);
        Assert.Equal(1, job.Attempts);
        Assert.Contains("400", job.LastError);
        Assert.Equal(1, await PushApiClient.SubscriptionCountAsync(fixture.Database, subscriber.Endpoint));
        Assert.Single(PushService.For(subscriber));
    }

    [Fact]
    public async Task A413IsRetriedOnceWithTheReducedObject()
    {
        var (user, subscriber) = await SubscribedUserAsync("too-large", n => n == 1 ? new FakeAnswer(413) : FakeAnswer.Created);
        var id = await Server.SendAsync(user, "Reduce me", new { body = "Some body", data = new { big = new string('x', 2000) }, link = "https://shop.example/x", category = "orders" });

        var pushes = await PushesAsync(subscriber, 2);
        Assert.True(pushes[0].Json.TryGetProperty("data", out _), "the first push is the whole object");
        var reduced = pushes[1].Json;
        Assert.Equal(id, reduced.GetProperty("id").GetInt64());
        Assert.Equal("Reduce me", reduced.GetProperty("title").GetString());
        Assert.Equal("Some body", reduced.GetProperty("body").GetString());
        Assert.Equal("https://shop.example/x", reduced.GetProperty("link").GetString());
        Assert.Equal("orders", reduced.GetProperty("category").GetString());
        Assert.False(reduced.TryGetProperty("data", out _));
        var job = await WaitForJobAsync(id, "sent");
        Assert.True(job.Reduced);
        Assert.Equal(2, job.Attempts);
    }

    [Fact]
    public async Task ASecond413FailsTheJob()
    {
        var (user, subscriber) = await SubscribedUserAsync("always-too-large", _ => new FakeAnswer(413));
        var id = await Server.SendAsync(user, "Never small enough");
        var job = await WaitForJobAsync(id, "failed");
        Assert.Equal(413, job.Status);
        Assert.Equal(2, job.Attempts);
        Assert.Equal(2, PushService.For(subscriber).Count);
    }

    [Fact]
    public async Task ANotificationTooLargeForOnePushGoesOutAsTheReducedObject()
    {
        var (user, subscriber) = await SubscribedUserAsync("large");
        var body = string.Concat(Enumerable.Repeat("Grüße 👋 ", 444)) + "abcd"; // 4,000 UTF-16 units, the most a body may have
        var id = await Server.SendAsync(user, "Large", new { body, data = new { blob = new string('y', 15_000) } });

        var push = (await PushesAsync(subscriber, 1)).Single();
        Assert.Null(push.DecryptError);
        Assert.True(push.Body.Length <= 4096, $"{push.Body.Length} bytes");
        var reduced = push.Json;
        Assert.Equal(id, reduced.GetProperty("id").GetInt64());
        Assert.True(reduced.GetProperty("reduced").GetBoolean());
        var truncated = reduced.GetProperty("body").GetString()!;
        Assert.EndsWith("…", truncated);
        Assert.StartsWith(truncated[..^1], body);
        Assert.True((await WaitForJobAsync(id, "sent")).Reduced);
    }

    [Fact]
    public async Task AfterUnsubscribingNothingIsPushed()
    {
        var (user, subscriber) = await SubscribedUserAsync("unsubscribed");
        using var client = Server.CreateApiClient(Server.Tokens.User(user));
        Assert.Equal(HttpStatusCode.NoContent, (await PushApiClient.UnsubscribeAsync(client, subscriber.Endpoint)).StatusCode);

        var id = await Server.SendAsync(user, "After unsubscribing");
        await PushApiClient.WaitUntilPlannedAsync(fixture.Database, id, Patience);
        Assert.Empty(await PushApiClient.JobsAsync(fixture.Database, id));
        Assert.Empty(PushService.For(subscriber));
    }

    [Fact]
    public async Task ANotificationReadBeforeItsPushWentOutIsNotPushed()
    {
        // The push service holds its first answer (a 429) until the notification is read elsewhere.
        var answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var (user, subscriber) = await SubscribedUserAsync("read-meanwhile", n => n == 1 ? new FakeAnswer(429, RetryAfter: "1", HoldUntil: answered.Task) : FakeAnswer.Created);
        var id = await Server.SendAsync(user, "Read on another device");
        await ArrivedAsync(subscriber);
        using var inbox = new InboxClient(Server, user);
        Assert.Equal(HttpStatusCode.NoContent, (await inbox.MarkReadAsync(id)).StatusCode);
        answered.SetResult();

        var job = await WaitForJobAsync(id, "cancelled");
        Assert.Contains("read", job.LastError);
        Assert.Single(PushService.For(subscriber));
    }

    [Fact]
    public async Task ANotificationDeletedBeforeItsPushWentOutIsNotPushed()
    {
        var answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var (user, subscriber) = await SubscribedUserAsync("deleted-meanwhile", n => n == 1 ? new FakeAnswer(503, HoldUntil: answered.Task) : FakeAnswer.Created);
        var id = await Server.SendAsync(user, "Deleted on another device");
        await ArrivedAsync(subscriber);
        using var client = Server.CreateApiClient(Server.Tokens.User(user));
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/notifications/{id}")).StatusCode);
        answered.SetResult();

        var job = await WaitForJobAsync(id, "cancelled");
        Assert.Contains("deleted", job.LastError);
        Assert.Single(PushService.For(subscriber));
    }

    [Fact]
    public async Task BroadcastsAreNotPushed()
    {
        var (user, subscriber) = await SubscribedUserAsync("broadcast");
        using var admin = Server.CreateApiClient(Server.Tokens.Admin());
        var response = await admin.PostAsJsonAsync("/api/broadcasts", new { title = "Maintenance tonight" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var own = await Server.SendAsync(user, "Only this one is pushed");

        var push = (await PushesAsync(subscriber, 1)).Single();
        Assert.Equal(own, push.NotificationId);
        await PushApiClient.WaitUntilPlannedAsync(fixture.Database, own, Patience);
        Assert.Single(PushService.For(subscriber));
    }

    [Fact]
    public async Task EverySubscriptionOfTheUserGetsThePush()
    {
        var user = "multi-" + Guid.NewGuid().ToString("N")[..10];
        using var client = Server.CreateApiClient(Server.Tokens.User(user));
        var phone = PushService.NewSubscriber();
        var laptop = PushService.NewSubscriber();
        await PushApiClient.SubscribeAsync(client, phone);
        await PushApiClient.SubscribeAsync(client, laptop);

        var id = await Server.SendAsync(user, "To both devices");
        Assert.Equal(id, (await PushesAsync(phone, 1)).Single().NotificationId);
        Assert.Equal(id, (await PushesAsync(laptop, 1)).Single().NotificationId);
    }

    private async Task<(string User, FakeSubscriber Subscriber)> SubscribedUserAsync(string prefix, Func<int, FakeAnswer>? answers = null)
    {
        var user = prefix + "-" + Guid.NewGuid().ToString("N")[..10];
        var subscriber = PushService.NewSubscriber(answers);
        using var client = Server.CreateApiClient(Server.Tokens.User(user));
        var response = await PushApiClient.SubscribeAsync(client, subscriber);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (user, subscriber);
    }

    private Task<IReadOnlyList<ReceivedPush>> PushesAsync(FakeSubscriber subscriber, int count) =>
        WaitUntilAsync(() => Task.FromResult(PushService.For(subscriber)), r => r.Count >= count && r.Take(count).All(p => p.AnsweredStatus is not null),
            Patience, $"{count} answered pushes to {subscriber.Id}", r => string.Join("; ", r));

    private Task ArrivedAsync(FakeSubscriber subscriber) =>
        WaitUntilAsync(() => Task.FromResult(PushService.For(subscriber)), r => r.Count >= 1, Patience, $"a push request to {subscriber.Id}", r => string.Join("; ", r));

    private async Task<PushApiClient.JobRow> WaitForJobAsync(long notificationId, string state, TimeSpan? timeout = null) =>
        (await WaitUntilAsync(() => PushApiClient.JobsAsync(fixture.Database, notificationId), jobs => jobs.Count == 1 && jobs[0].State == state,
            timeout ?? Patience, $"the push job of {notificationId} {state}", jobs => string.Join("; ", jobs))).Single();

    /// <summary>The planner has passed the id and wrote no job for it, and nothing reached the subscriber.</summary>
    private async Task AssertNotPushedAsync(long notificationId, FakeSubscriber subscriber)
    {
        await PushApiClient.WaitUntilPlannedAsync(fixture.Database, notificationId, Patience);
        Assert.Empty(await PushApiClient.JobsAsync(fixture.Database, notificationId));
        Assert.Empty(PushService.For(subscriber));
    }

    private static List<long> Snapshot(List<long> ids)
    {
        lock (ids)
        {
            return ids.ToList();
        }
    }
}
