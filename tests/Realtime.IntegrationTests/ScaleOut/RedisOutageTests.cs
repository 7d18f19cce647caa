using System.Globalization;
using System.Net;
using Realtime.IntegrationTests.Infrastructure;
using Xunit.Abstractions;
using static Realtime.IntegrationTests.Infrastructure.ScaleOutTraffic;
using static Realtime.IntegrationTests.Infrastructure.Eventually;

namespace Realtime.IntegrationTests.ScaleOut;

/// <summary>
/// Redis dies and comes back under load (API.md "Operations", DESIGN.md "Every node sees the whole id
/// sequence, in order"): both nodes stay ready and report <c>"redis":"down"</c>, sends keep answering
/// 201, the clients on the other node keep receiving (their node polls PostgreSQL) on the same
/// connections, and once Redis is back (same port, empty) the nodes report it up, resubscribe, and
/// delivery goes on: every id exactly once, in increasing order. The nodes use a redis-server of
/// their own that the test SIGKILLs, never the Redis the other test classes share.
/// </summary>
public sealed class RedisOutageTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan HealthTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ReconnectTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Outage polling is every 200 ms: this allows for the poll, the gap wait and a busy machine.</summary>
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Deliveries measured in each phase (each probe waits for the one before it).</summary>
    private const int Probes = 6;

    private readonly string _prefix = TestRedis.NewChannelPrefix();
    private TestDatabase _database = null!;
    private RedisProcess _redis = null!;
    private RealtimeServer _a = null!;
    private RealtimeServer _b = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        _redis = await RedisProcess.StartNewAsync();
        _a = await RealtimeServer.StartAsync(_database.ConnectionString, TestRedis.NodeSettings(_prefix, _redis.ConnectionString));
        _b = await RealtimeServer.StartAsync(_database.ConnectionString, TestRedis.NodeSettings(_prefix, _redis.ConnectionString));
    }

    public async Task DisposeAsync()
    {
        await _b.DisposeAsync();
        await _a.DisposeAsync();
        await _redis.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task WhileRedisIsDownBothNodesStayReadySendsAnswer201AndClientsOnTheOtherNodeKeepReceivingOnTheirOwnConnections()
    {
        try
        {
            await RunOutageAsync();
        }
        catch (Exception ex)
        {
            throw new Xunit.Sdk.XunitException($"{ex.GetType().Name}: {ex.Message}\n---- redis-server ----\n{_redis.Output}", ex);
        }
    }

    [Fact]
    public async Task AReadOnOneNodeDuringTheOutageReachesTheOtherNodesClientsAsAFreshUnreadCountOnceRedisIsBack()
    {
        var user = NewUser("outage-read");
        await using var hub = await _b.ConnectHubAsync(_b.Tokens.User(user));
        await hub.InvokeAsync("Resume", 0);
        var first = await _a.SendAsync(user, "one");
        await _a.SendAsync(user, "two");
        await hub.WaitForAsync("unreadCount", c => c.GetProperty("unreadCount").GetInt32() == 2);

        await _redis.KillAsync();
        await WaitForRedisHealthAsync(_a.BaseAddress, "down", HealthTimeout);
        var before = hub.Received.Count;
        using (var inbox = new InboxClient(_a, user))
        {
            Assert.Equal(HttpStatusCode.NoContent, (await inbox.MarkReadAsync(first)).StatusCode); // its event cannot reach B
        }
        await _redis.StartAsync();

        await WaitUntilAsync(
            () => Task.FromResult(hub.Received.Skip(before).Any(m => m.Target == "unreadCount" && m.Argument.GetProperty("unreadCount").GetInt32() == 1)),
            arrived => arrived, ReconnectTimeout, "a fresh unreadCount of 1 on B after Redis came back");
    }

    private async Task RunOutageAsync()
    {
        var user = NewUser("redis-outage");
        var token = _b.Tokens.User(user);
        await using var hub = await _b.ConnectHubAsync(token);
        await hub.InvokeAsync("Resume", 0);
        await using var stream = await SseTestClient.ConnectAsync(_b.BaseAddress, token, lastEventId: "0");
        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
        await stream.Retry.WaitAsync(SseTestClient.DefaultTimeout);
        foreach (var node in new[] { _a, _b })
        {
            Assert.Equal("up", (await ReadyAsync(node.BaseAddress)).Redis);
        }
        await WaitForSubscribersAsync(2);

        await using var sender = new ScaleOutSender(_a.BaseAddress, user);
        await MeasureDeliveriesAsync(sender, hub, stream, "with Redis up");

        var killedAt = Clock.Elapsed;
        await _redis.KillAsync();
        var down = await Task.WhenAll(
            WaitForRedisHealthAsync(_a.BaseAddress, "down", HealthTimeout),
            WaitForRedisHealthAsync(_b.BaseAddress, "down", HealthTimeout));
        output.WriteLine($"Redis killed; reported down after {Ms(down[0])} (A) and {Ms(down[1])} (B)");
        var outage = await MeasureDeliveriesAsync(sender, hub, stream, "while Redis is down");
        // Once polling at the outage pace (Live:OutagePollInterval, 200 ms; the idle pace is 1 s), deliveries
        // take a poll interval at most. The first probe may still wait out an idle wait begun before the outage.
        var steady = outage.Skip(2).ToList(); // two deliveries (hub, SSE) per probe: all but the first probe
        Assert.True(steady.Average(d => d.TotalMilliseconds) < 400,
            $"While Redis is down, B should poll every 200 ms: deliveries took [{string.Join(", ", steady.Select(d => Ms(d)))}]");
        AssertStillConnected(hub, stream, "during the outage");

        var restartedAt = Clock.Elapsed;
        await _redis.StartAsync();
        var up = await Task.WhenAll(
            WaitForRedisHealthAsync(_a.BaseAddress, "up", ReconnectTimeout),
            WaitForRedisHealthAsync(_b.BaseAddress, "up", ReconnectTimeout));
        await WaitForSubscribersAsync(2);
        var resubscribed = Clock.Elapsed - restartedAt;
        output.WriteLine($"Redis restarted; reported up after {Ms(up[0])} (A) and {Ms(up[1])} (B); both nodes subscribed again {Ms(resubscribed)} after the restart");
        var sentWhileDown = sender.Sends.Where(s => s.Started >= killedAt && s.Started < restartedAt).ToList();
        await MeasureDeliveriesAsync(sender, hub, stream, "after Redis came back");

        await sender.StopAsync();
        Assert.True(sender.Failures.Count == 0,
            $"Every send must answer 201 (a failed publish after the commit is not an error); failures: [{string.Join("; ", sender.Failures)}]");
        Assert.True(sentWhileDown.Count >= Probes, $"only {sentWhileDown.Count} sends while Redis was down");
        output.WriteLine(
            $"{sender.Sends.Count} sends, {sentWhileDown.Count} while Redis was down; send latency while down: max {Ms(sentWhileDown.Max(s => s.Latency))}, " +
            $"before: max {Ms(sender.Sends.Where(s => s.Started < killedAt).Max(s => s.Latency))}");

        var sent = sender.Ids;
        await WaitUntilAsync(() => Task.FromResult(IdsOf(user, Notifications(hub)).Count), n => n >= sent.Count, DeliveryTimeout, $"all {sent.Count} ids on the hub");
        await WaitUntilAsync(() => Task.FromResult(IdsOf(user, Notifications(stream)).Count), n => n >= sent.Count, DeliveryTimeout, $"all {sent.Count} ids on the SSE stream");
        AssertStillConnected(hub, stream, "at the end");
        AssertIncreasingFrom(0, "the hub connection on B", Notifications(hub).Select(n => n.Id).ToList());
        AssertIncreasingFrom(0, "the SSE stream on B", Notifications(stream).Select(n => n.Id).ToList());
        AssertExactly(sent, IdsOf(user, Notifications(hub)), "the hub connection on B");
        AssertExactly(sent, IdsOf(user, Notifications(stream)), "the SSE stream on B");
    }

    /// <summary>
    /// Takes <see cref="Probes"/> sends made on A one after the other (each started after the one before
    /// it was received) and measures how long after its 201 each reached the hub and the SSE client on B.
    /// </summary>
    private async Task<List<TimeSpan>> MeasureDeliveriesAsync(ScaleOutSender sender, HubClient hub, SseTestClient stream, string phase)
    {
        var delays = new List<TimeSpan>();
        var since = Clock.Elapsed;
        for (var probe = 0; probe < Probes; probe++)
        {
            var send = await sender.NextSentAsync(since, ScaleOutSender.SendTimeout);
            var onHub = await WaitForIdAsync(() => Notifications(hub).Select(n => n.Id), send.Id, DeliveryTimeout, $"the hub on B ({phase})");
            var onSse = await WaitForIdAsync(() => Notifications(stream).Select(n => n.Id), send.Id, DeliveryTimeout, $"the SSE stream on B ({phase})");
            delays.Add(onHub - send.Completed);
            delays.Add(onSse - send.Completed);
            since = Clock.Elapsed;
        }
        output.WriteLine($"Delivery on B {phase}: 201 on A to receipt on B, max {Ms(delays.Max())}, mean {Ms(TimeSpan.FromTicks((long)delays.Average(d => d.Ticks)))} (hub, SSE per probe: {string.Join(" | ", delays.Chunk(2).Select(p => $"{p[0].TotalMilliseconds:0}, {p[1].TotalMilliseconds:0}"))})");
        return delays;
    }

    /// <summary>Waits until <paramref name="count"/> nodes subscribe to the batch channel (PUBSUB NUMSUB).</summary>
    private async Task WaitForSubscribersAsync(int count)
    {
        var channel = _prefix + ":batches";
        await WaitUntilAsync(
            async () => int.Parse((await _redis.CommandAsync("PUBSUB", "NUMSUB", channel)).Split(' ')[1], CultureInfo.InvariantCulture),
            n => n == count, ReconnectTimeout, $"{count} subscribers of {channel}");
    }

    private static void AssertStillConnected(HubClient hub, SseTestClient stream, string when)
    {
        Assert.False(hub.Closed.IsCompleted, $"The hub connection on B closed {when}: {(hub.Closed.IsCompleted ? hub.Closed.Result : null)}");
        Assert.False(stream.Ended.IsCompleted, $"The SSE stream on B ended {when}.");
    }

    private static string Ms(TimeSpan value) => $"{value.TotalMilliseconds:0} ms";
}
