using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

using static Realtime.IntegrationTests.Infrastructure.Eventually;

namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>
/// What the scale-out tests share: senders spread over nodes, the notification ids a hub or SSE
/// client got, the per-connection "ids strictly increase" check, and readiness.
/// </summary>
public static class ScaleOutTraffic
{
    /// <summary>One clock for sends and receipts, so a delay is one subtraction.</summary>
    public static readonly Stopwatch Clock = Stopwatch.StartNew();

    public static string NewUser(string kind) => $"{kind}-{Guid.NewGuid().ToString("N")[..10]}";

    /// <summary>An HTTP client for <paramref name="node"/> with a bearer token.</summary>
    public static HttpClient Client(Uri node, string? token, TimeSpan? timeout = null)
    {
        var client = new HttpClient { BaseAddress = node, Timeout = timeout ?? TimeSpan.FromSeconds(30) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return client;
    }

    /// <summary>Sends one notification to <paramref name="userId"/> through <paramref name="node"/> (201 expected) and returns its id.</summary>
    public static async Task<long> SendAsync(Uri node, string userId, string title = "Hello")
    {
        using var client = Client(node, TestTokens.Default.Service());
        var response = await client.PostAsJsonAsync("/api/notifications", new { userId, title });
        Assert.True(response.StatusCode == HttpStatusCode.Created,
            $"send through {node} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        var sent = await response.Content.ReadFromJsonAsync<RealtimeServer.SendResult>();
        return sent!.Notifications.Single().Id;
    }

    /// <summary>
    /// <paramref name="senders"/> concurrent senders, sender k through node k mod n, each sending
    /// <paramref name="sendsPerSender"/> notifications to <paramref name="userId"/> (every third also to a
    /// second user, so batches vary). Returns the ids <paramref name="userId"/> got, in increasing order.
    /// <paramref name="beforeSend"/>, when given, is awaited before each sender's send number i (paces the senders).
    /// </summary>
    public static async Task<List<long>> SendConcurrentlyAsync(string userId, IReadOnlyList<Uri> nodes, int senders, int sendsPerSender,
        Func<int, Task>? beforeSend = null)
    {
        var ids = new ConcurrentBag<long>();
        await Task.WhenAll(Enumerable.Range(0, senders).Select(sender => Task.Run(async () =>
        {
            using var client = Client(nodes[sender % nodes.Count], TestTokens.Default.Service($"sender-{sender}"));
            for (var i = 0; i < sendsPerSender; i++)
            {
                if (beforeSend is not null)
                {
                    await beforeSend(i);
                }
                object body = i % 3 == 0
                    ? new { userIds = new[] { userId, userId + "-other" }, title = $"s{sender}-{i}" }
                    : new { userId, title = $"s{sender}-{i}" };
                var response = await client.PostAsJsonAsync("/api/notifications", body);
                Assert.True(response.StatusCode == HttpStatusCode.Created,
                    $"sender {sender} got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                var sent = await response.Content.ReadFromJsonAsync<RealtimeServer.SendResult>();
                foreach (var item in sent!.Notifications.Where(n => n.UserId == userId))
                {
                    ids.Add(item.Id);
                }
            }
        })));
        return ids.Order().ToList();
    }

    /// <summary>Every <c>notification</c> a hub connection received, in wire order: (id, userId or null for broadcasts).</summary>
    public static List<(long Id, string? UserId)> Notifications(HubClient hub) =>
        hub.Received.Where(m => m.Target == "notification").Select(m => Describe(m.Argument)).ToList();

    /// <summary>Every <c>notification</c> event an SSE stream received, in wire order; the <c>id:</c> line must match the payload's id.</summary>
    public static List<(long Id, string? UserId)> Notifications(SseTestClient stream) =>
        stream.All.Where(e => e.Event == "notification").Select(e =>
        {
            var notification = Describe(e.Json);
            Assert.Equal(notification.Id.ToString(CultureInfo.InvariantCulture), e.Id);
            return notification;
        }).ToList();

    /// <summary>The ids of <paramref name="userId"/>'s own notifications (not broadcasts) among <paramref name="received"/>.</summary>
    public static List<long> IdsOf(string userId, IEnumerable<(long Id, string? UserId)> received) =>
        received.Where(n => n.UserId == userId).Select(n => n.Id).ToList();

    /// <summary>Every id on one connection is above the cursor it resumed from and above the one before it.</summary>
    public static void AssertIncreasingFrom(long cursor, string connection, IReadOnlyList<long> ids)
    {
        for (var i = 0; i < ids.Count; i++)
        {
            var previous = i == 0 ? cursor : ids[i - 1];
            Assert.True(ids[i] > previous, $"{connection} sent {ids[i]} after {previous}: [{string.Join(", ", ids)}]");
        }
    }

    /// <summary>Asserts <paramref name="received"/> is exactly <paramref name="expected"/>, naming what is missing or extra.</summary>
    public static void AssertExactly(IReadOnlyList<long> expected, IReadOnlyList<long> received, string who)
    {
        if (expected.SequenceEqual(received))
        {
            return;
        }
        var missing = expected.Except(received).ToList();
        var duplicates = received.GroupBy(id => id).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        var extra = received.Except(expected).ToList();
        var outOfOrder = received.Zip(received.Skip(1)).Where(p => p.Second <= p.First).Select(p => $"{p.Second} after {p.First}").ToList();
        Assert.Fail(
            $"{who}: expected {expected.Count} ids, got {received.Count}. " +
            $"Missing ({missing.Count}): [{string.Join(", ", missing.Take(30))}]; duplicates: [{string.Join(", ", duplicates.Take(30))}]; " +
            $"unexpected: [{string.Join(", ", extra.Take(30))}]; out of order: [{string.Join(", ", outOfOrder.Take(10))}].");
    }

    /// <summary>Polls until <paramref name="ids"/> contains <paramref name="id"/>; returns <see cref="Clock"/>'s time when it was first seen.</summary>
    public static async Task<TimeSpan> WaitForIdAsync(Func<IEnumerable<long>> ids, long id, TimeSpan timeout, string who)
    {
        await WaitUntilAsync(() => Task.FromResult(ids().Contains(id)), seen => seen, timeout, $"id {id} received by {who}",
            _ => $"[{string.Join(", ", ids().TakeLast(20))}] (last 20)");
        return Clock.Elapsed;
    }

    /// <summary><c>GET /health/ready</c>: its status code and the <c>redis</c> field (null when absent).</summary>
    public static async Task<(HttpStatusCode Status, string? Redis, string Body)> ReadyAsync(Uri node)
    {
        using var client = Client(node, null, TimeSpan.FromSeconds(5));
        var response = await client.GetAsync("/health/ready");
        var body = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(body);
        var redis = json.RootElement.TryGetProperty("redis", out var value) ? value.GetString() : null;
        return (response.StatusCode, redis, body);
    }

    /// <summary>Polls <c>/health/ready</c> of <paramref name="node"/> until it reports <c>"redis":<paramref name="redis"/></c>; every answer on the way must be 200.</summary>
    public static async Task<TimeSpan> WaitForRedisHealthAsync(Uri node, string redis, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        await WaitUntilAsync(async () =>
        {
            var ready = await ReadyAsync(node);
            Assert.True(ready.Status == HttpStatusCode.OK, $"/health/ready of {node} answered {(int)ready.Status} {ready.Body}: Redis must not take a node out of the load balancer");
            return ready;
        }, ready => ready.Redis == redis, timeout, $"\"redis\":\"{redis}\" on {node}", ready => ready.Body);
        return clock.Elapsed;
    }

    private static (long Id, string? UserId) Describe(JsonElement notification)
    {
        Assert.Equal(JsonValueKind.Object, notification.ValueKind);
        var userId = notification.GetProperty("userId");
        return (notification.GetProperty("id").GetInt64(), userId.ValueKind == JsonValueKind.Null ? null : userId.GetString());
    }
}
