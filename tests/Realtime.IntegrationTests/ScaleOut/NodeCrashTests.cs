using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Bus;
using Xunit.Abstractions;
using static Realtime.IntegrationTests.Infrastructure.ScaleOutTraffic;
using static Realtime.IntegrationTests.Infrastructure.Eventually;

namespace Realtime.IntegrationTests.ScaleOut;

/// <summary>Node A in-process, on its own database and Redis channel prefix; each test adds a node B as a child process it can SIGKILL.</summary>
public sealed class NodeCrashFixture : IAsyncLifetime
{
    /// <summary>Presence__NodeTimeoutSeconds of both nodes (the minimum), so a dead node is noticed quickly.</summary>
    public const int NodeTimeoutSeconds = 3;

    public TestDatabase Database { get; private set; } = null!;

    public string ChannelPrefix { get; } = TestRedis.NewChannelPrefix();

    public RealtimeServer A { get; private set; } = null!;

    public string NodeIdOfA => A.Services.GetRequiredService<NodeIdentity>().Id;

    public async Task InitializeAsync()
    {
        Database = await TestDatabase.CreateAsync();
        var settings = TestRedis.NodeSettings(ChannelPrefix);
        settings["Presence:NodeTimeoutSeconds"] = NodeTimeoutSeconds.ToString(CultureInfo.InvariantCulture);
        A = await RealtimeServer.StartAsync(Database.ConnectionString, settings);
    }

    /// <summary>Starts node B as a real process on the same database, Redis and channel prefix.</summary>
    public Task<ServerProcess> StartNodeBAsync() =>
        ServerProcess.StartAsync(Database.ConnectionString, TestRedis.ConnectionString, ChannelPrefix,
            new Dictionary<string, string> { ["Presence__NodeTimeoutSeconds"] = NodeTimeoutSeconds.ToString(CultureInfo.InvariantCulture) });

    public async Task DisposeAsync()
    {
        await A.DisposeAsync();
        await Database.DisposeAsync();
    }
}

/// <summary>
/// A node dies without a goodbye (SIGKILL of a real process): its clients see their connections end,
/// reconnect to the surviving node and resume from the last id they saw, and end with every
/// notification sent on the survivor before and after the crash, exactly once and in order. The dead
/// node's connections leave the survivor's presence view within the node timeout (API.md "Admins").
/// </summary>
public sealed class NodeCrashTests(NodeCrashFixture cluster, ITestOutputHelper output) : IClassFixture<NodeCrashFixture>
{
    private static readonly TimeSpan ConnectionEndTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Polling, HTTP and a busy test machine, on top of the node timeout the contract allows.</summary>
    private static readonly TimeSpan PresenceSlack = TimeSpan.FromSeconds(1);

    private RealtimeServer A => cluster.A;

    [Fact]
    public async Task ClientsOfAKilledNodeReconnectToTheOtherNodeAndResumeWithEveryNotificationOnceInOrder()
    {
        await using var b = await cluster.StartNodeBAsync();
        await b.WithOutputOnFailureAsync(async () =>
        {
            var user = NewUser("crash");
            var token = A.Tokens.User(user);
            var hubOnB = await HubClient.ConnectAsync(b.BaseAddress, token);
            await using var _ = hubOnB;
            await hubOnB.InvokeAsync("Resume", 0);
            var sseOnB = await SseTestClient.ConnectAsync(b.BaseAddress, token, lastEventId: "0");
            await using var __ = sseOnB;
            Assert.Equal(HttpStatusCode.OK, sseOnB.Response.StatusCode);
            await sseOnB.Retry.WaitAsync(SseTestClient.DefaultTimeout);

            await using var sender = new ScaleOutSender(A.BaseAddress, user);
            // Some of A's notifications reach B's clients (through Redis) before the crash.
            await sender.WaitForSendsAsync(TimeSpan.Zero, 10, DeliveryTimeout);
            var beforeCrash = sender.Ids.Take(10).ToList();
            foreach (var id in beforeCrash)
            {
                await WaitForIdAsync(() => Notifications(hubOnB).Select(n => n.Id), id, DeliveryTimeout, "the hub on B");
                await WaitForIdAsync(() => Notifications(sseOnB).Select(n => n.Id), id, DeliveryTimeout, "the SSE stream on B");
            }

            var killedAt = Clock.Elapsed;
            b.Kill();
            var hubClose = await hubOnB.Closed.WaitAsync(ConnectionEndTimeout);
            await sseOnB.Ended.WaitAsync(ConnectionEndTimeout);
            output.WriteLine($"B killed; its hub connection ended after {(Clock.Elapsed - killedAt).TotalMilliseconds:0} ms ({hubClose})");

            // Each client resumes on A from the last id it saw on B.
            var hubIdsOnB = Notifications(hubOnB).Select(n => n.Id).ToList();
            var sseIdsOnB = Notifications(sseOnB).Select(n => n.Id).ToList();
            AssertIncreasingFrom(0, "the hub connection on B", hubIdsOnB);
            AssertIncreasingFrom(0, "the SSE stream on B", sseIdsOnB);
            var hubCursor = hubIdsOnB.LastOrDefault();
            var sseCursor = sseIdsOnB.LastOrDefault();
            await using var hubOnA = await A.ConnectHubAsync(token);
            await hubOnA.InvokeAsync("Resume", hubCursor);
            await using var sseOnA = await SseTestClient.ConnectAsync(A.BaseAddress, token, lastEventId: sseCursor.ToString(CultureInfo.InvariantCulture));
            Assert.Equal(HttpStatusCode.OK, sseOnA.Response.StatusCode);

            // More notifications after the reconnect, then everything must be there.
            await sender.WaitForSendsAsync(Clock.Elapsed, 10, DeliveryTimeout);
            await sender.StopAsync();
            Assert.True(sender.Failures.Count == 0, $"sends on A failed: [{string.Join("; ", sender.Failures)}]");
            var sent = sender.Ids;
            Assert.Contains(sent, id => sender.Sends.Single(s => s.Id == id).Started > killedAt);
            await WaitForIdAsync(() => Notifications(hubOnA).Select(n => n.Id), sent[^1], DeliveryTimeout, "the hub on A");
            await WaitForIdAsync(() => Notifications(sseOnA).Select(n => n.Id), sent[^1], DeliveryTimeout, "the SSE stream on A");

            var hubIdsOnA = Notifications(hubOnA).Select(n => n.Id).ToList();
            var sseIdsOnA = Notifications(sseOnA).Select(n => n.Id).ToList();
            AssertIncreasingFrom(hubCursor, $"the hub connection on A (resumed after {hubCursor})", hubIdsOnA);
            AssertIncreasingFrom(sseCursor, $"the SSE stream on A (Last-Event-ID {sseCursor})", sseIdsOnA);
            AssertExactly(sent, IdsOf(user, Notifications(hubOnB).Concat(Notifications(hubOnA))), "the hub client (B, then A)");
            AssertExactly(sent, IdsOf(user, Notifications(sseOnB).Concat(Notifications(sseOnA))), "the SSE client (B, then A)");
            output.WriteLine($"{sent.Count} sent; hub: {hubIdsOnB.Count} on B + {hubIdsOnA.Count} on A; SSE: {sseIdsOnB.Count} on B + {sseIdsOnA.Count} on A");
        });
    }

    [Fact]
    public async Task TheConnectionsOfAKilledNodeLeaveTheOtherNodesPresenceViewWithinTheNodeTimeout()
    {
        await using var b = await cluster.StartNodeBAsync();
        await b.WithOutputOnFailureAsync(async () =>
        {
            var user = NewUser("crash-presence");
            var token = A.Tokens.User(user);
            await using var hubOnB = await HubClient.ConnectAsync(b.BaseAddress, token);
            await using var sseOnB = await SseTestClient.ConnectAsync(b.BaseAddress, token);
            await using var hubOnA = await A.ConnectHubAsync(token);

            var before = await WaitUntilAsync(() => ConnectionsAsync(user), c => c.Count == 3, TimeSpan.FromSeconds(10), "3 connections in A's presence view", Describe);
            var nodeOfB = before.Select(c => c.GetProperty("node").GetString()).Distinct().Single(node => node != cluster.NodeIdOfA);
            Assert.Equal(2, before.Count(c => c.GetProperty("node").GetString() == nodeOfB));

            b.Kill();
            var clock = Stopwatch.StartNew();
            var timeout = TimeSpan.FromSeconds(NodeCrashFixture.NodeTimeoutSeconds) + PresenceSlack;
            var after = await WaitUntilAsync(
                () => ConnectionsAsync(user), c => c.All(connection => connection.GetProperty("node").GetString() != nodeOfB),
                timeout, $"B's connections gone from A's presence view (node timeout {NodeCrashFixture.NodeTimeoutSeconds} s)", Describe);
            output.WriteLine($"B's connections left A's presence view {clock.ElapsedMilliseconds} ms after the SIGKILL");
            Assert.Equal([cluster.NodeIdOfA], after.Select(c => c.GetProperty("node").GetString()));
            Assert.False(hubOnA.Closed.IsCompleted, "The connection on A is alive and stays listed.");
        });
    }

    private async Task<List<JsonElement>> ConnectionsAsync(string userId)
    {
        using var client = A.CreateApiClient(A.Tokens.Admin());
        var response = await client.GetAsync($"/api/admin/presence/{Uri.EscapeDataString(userId)}");
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"presence answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("connections").EnumerateArray().ToList();
    }

    private static string Describe(List<JsonElement> connections) => "[" + string.Join(", ", connections.Select(c => c.GetRawText())) + "]";
}
