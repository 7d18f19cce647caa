using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Live;
using Xunit.Abstractions;

namespace Realtime.IntegrationTests.Live.SlowConsumer;

/// <summary>A node whose per-connection queue holds 256 KiB, so a stuck client trips it quickly.</summary>
public sealed class SmallQueueFixture : ServerFixture
{
    public const long QueueBytes = 256 * 1024;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Live:ConnectionQueueBytes"] = QueueBytes.ToString(CultureInfo.InvariantCulture),
    };
}

/// <summary>
/// A client that stops reading must not slow anyone else nor grow the server's memory without
/// bound: its connection's queue stays within <c>Live:ConnectionQueueBytes</c>, the connection is
/// closed once it falls behind, and the client loses nothing when it resumes. The stuck client
/// really stops reading at the socket (<see cref="StuckClient"/>), so the kernel buffers, the
/// transport's pipes and then the connection's queue fill up; meanwhile another user is served.
/// </summary>
public sealed class SlowConsumerTests(SmallQueueFixture fixture, ITestOutputHelper output) : IClassFixture<SmallQueueFixture>
{
    private const int Flooders = 4;
    private const int MaxFloodSends = 3_000;

    /// <summary>Loopback socket buffers grow to a few MB; 15 KiB of data (the limit is 16) per send fills them in a few hundred.</summary>
    private static readonly object FloodData = new { blob = new string('x', 15 * 1024) };

    /// <summary>Bounds the whole flood: filling the socket buffers and then the queue takes a few seconds.</summary>
    private static readonly TimeSpan StuckLimit = TimeSpan.FromSeconds(40);

    /// <summary>
    /// From falling behind to gone from the registry: both transports abort the HTTP connection at
    /// once (the hub too, not waiting for SignalR's send timeout on the stuck socket).
    /// </summary>
    private static readonly TimeSpan CloseLimit = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan PromptDelivery = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan RegistryWait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    private RealtimeServer Server => fixture.Server;

    private ConnectionRegistry Registry => Server.Services.GetRequiredService<ConnectionRegistry>();

    private static string NewUser(string role) => $"{role}-{Guid.NewGuid().ToString("N")[..12]}";

    [Fact]
    public async Task AHubClientThatStopsReadingIsClosedWithinItsByteBoundWhileAnotherKeepsReceivingAndResumesWithNothingLost()
    {
        var stuckUser = NewUser("stuck-hub");
        var healthyUser = NewUser("healthy-hub");
        using var stuckSocket = await StuckClient.ConnectHubAsync(Server.BaseAddress, Server.Tokens.User(stuckUser), afterId: 0);
        var stuck = await WaitForSingleConnectionAsync(stuckUser);
        await using var healthy = await Server.ConnectHubAsync(Server.Tokens.User(healthyUser));
        Assert.Equal(0, (await healthy.InvokeAsync("Resume", 0)).GetInt32());

        var flood = await FloodAsync(stuckUser, stuck, healthyUser, async id =>
        {
            var next = await healthy.NextAsync("notification", PromptDelivery);
            Assert.Equal(id, next.Argument.GetProperty("id").GetInt64());
        });

        AssertBoundedAndClosed(flood, stuck);
        await using var resumed = await Server.ConnectHubAsync(Server.Tokens.User(stuckUser));
        resumed.Timeout = TimeSpan.FromSeconds(30); // the replay is a few MB
        Assert.Equal(flood.StuckIds.Count, (await resumed.InvokeAsync("Resume", 0)).GetInt32());
        var replayed = (await resumed.ReceivedAsync("notification", flood.StuckIds.Count))
            .Select(n => n.GetProperty("id").GetInt64())
            .ToList();
        Assert.Equal(flood.StuckIds, replayed);
    }

    [Fact]
    public async Task AnSseClientThatStopsReadingIsClosedWithinItsByteBoundWhileAnotherKeepsReceivingAndResumesWithNothingLost()
    {
        var stuckUser = NewUser("stuck-sse");
        var healthyUser = NewUser("healthy-sse");
        using var stuckSocket = await StuckClient.ConnectSseAsync(Server.BaseAddress, Server.Tokens.User(stuckUser));
        var stuck = await WaitForSingleConnectionAsync(stuckUser);
        await using var healthy = await SseTestClient.ConnectAsync(Server.BaseAddress, Server.Tokens.User(healthyUser));
        await healthy.Retry.WaitAsync(SseTestClient.DefaultTimeout);
        await WaitForSingleConnectionAsync(healthyUser); // registered just after the preamble: live from then on

        var flood = await FloodAsync(stuckUser, stuck, healthyUser, async id =>
        {
            var next = await healthy.NextAsync("notification", PromptDelivery);
            Assert.Equal(id.ToString(CultureInfo.InvariantCulture), next.Id);
        });

        AssertBoundedAndClosed(flood, stuck);
        await using var resumed = await SseTestClient.ConnectAsync(Server.BaseAddress, Server.Tokens.User(stuckUser), query: "?lastEventId=0");
        var replayed = new List<long>();
        while (replayed.Count < flood.StuckIds.Count)
        {
            var next = await resumed.NextAsync("notification", TimeSpan.FromSeconds(30));
            replayed.Add(long.Parse(next.Id!, CultureInfo.InvariantCulture));
        }
        Assert.Equal(flood.StuckIds, replayed);
    }

    private async Task<LiveConnection> WaitForSingleConnectionAsync(string userId)
    {
        var connections = await Eventually.WaitUntilAsync(
            () => Task.FromResult(Registry.ForUser(userId)), found => found.Length == 1, RegistryWait, $"one live connection of {userId}",
            found => $"{found.Length} connections", PollInterval);
        Assert.Equal(0, connections[0].QueuedBytes);
        return connections[0];
    }

    /// <summary>
    /// Sends large notifications to <paramref name="stuckUser"/> from a few concurrent loops until its
    /// connection falls behind (or the flood's bound is reached), while one notification at a time
    /// goes to <paramref name="healthyUser"/>, each awaited by <paramref name="expectHealthy"/> before
    /// the next, until the stuck connection is gone from the registry. Records the stuck queue's peak.
    /// </summary>
    private async Task<FloodOutcome> FloodAsync(string stuckUser, LiveConnection stuck, string healthyUser, Func<long, Task> expectHealthy)
    {
        using var api = Server.CreateApiClient(Server.Tokens.Service());
        var clock = Stopwatch.StartNew();
        var stuckIds = new ConcurrentQueue<long>();

        var monitor = Task.Run(async () =>
        {
            var observed = new StuckObservation();
            while (clock.Elapsed < StuckLimit)
            {
                observed.PeakQueuedBytes = Math.Max(observed.PeakQueuedBytes, stuck.QueuedBytes);
                if (stuck.FellBehind && observed.FellBehindAfter is null)
                {
                    observed.FellBehindAfter = clock.Elapsed;
                    observed.SendsToFallBehind = stuckIds.Count;
                }
                if (observed.FellBehindAfter is not null && !Registry.ForUser(stuckUser).Contains(stuck))
                {
                    observed.RemovedAfter = clock.Elapsed;
                    break;
                }
                await Task.Delay(PollInterval);
            }
            return observed;
        });

        var attempts = 0;
        var flood = Task.WhenAll(Enumerable.Range(0, Flooders).Select(_ => Task.Run(async () =>
        {
            while (!stuck.FellBehind && !monitor.IsCompleted && Interlocked.Increment(ref attempts) <= MaxFloodSends)
            {
                stuckIds.Enqueue(await SendAsync(api, stuckUser, FloodData));
            }
        })));

        var healthyRounds = 0;
        var slowestHealthy = TimeSpan.Zero;
        var healthy = Task.Run(async () =>
        {
            do
            {
                var started = clock.Elapsed;
                await expectHealthy(await SendAsync(api, healthyUser, data: null));
                slowestHealthy = Max(slowestHealthy, clock.Elapsed - started);
                healthyRounds++;
            }
            while (!monitor.IsCompleted);
        });

        await Task.WhenAll(monitor, flood, healthy);
        var observed = await monitor;
        var outcome = new FloodOutcome(observed, [.. stuckIds.Order()], healthyRounds, slowestHealthy);
        output.WriteLine(
            $"{stuck.Transport}: peak queued {observed.PeakQueuedBytes} of {SmallQueueFixture.QueueBytes} bytes; fell behind after " +
            $"{observed.FellBehindAfter?.TotalSeconds:F2} s and {observed.SendsToFallBehind} sends of ~15 KiB ({outcome.StuckIds.Count} in all); " +
            $"gone from the registry after {observed.RemovedAfter?.TotalSeconds:F2} s; healthy user got {healthyRounds} notifications " +
            $"meanwhile, slowest send-to-receive {slowestHealthy.TotalMilliseconds:F0} ms");
        return outcome;
    }

    private void AssertBoundedAndClosed(FloodOutcome flood, LiveConnection stuck)
    {
        var observed = flood.Stuck;
        Assert.True(observed.FellBehindAfter is not null,
            $"The stuck {stuck.Transport} connection never fell behind ({flood.StuckIds.Count} sends; queued {stuck.QueuedBytes} bytes).");
        Assert.True(observed.RemovedAfter is not null,
            $"The stuck {stuck.Transport} connection fell behind after {observed.FellBehindAfter} but was still registered after {StuckLimit}.");
        Assert.InRange(observed.RemovedAfter.Value - observed.FellBehindAfter.Value, TimeSpan.Zero, CloseLimit);
        Assert.InRange(observed.PeakQueuedBytes, 0, SmallQueueFixture.QueueBytes);
        Assert.DoesNotContain(stuck, Registry.All);
    }

    private static async Task<long> SendAsync(HttpClient api, string userId, object? data)
    {
        var response = await api.PostAsJsonAsync("/api/notifications", new { userId, title = "slow consumer", data });
        response.EnsureSuccessStatusCode();
        var sent = await response.Content.ReadFromJsonAsync<RealtimeServer.SendResult>();
        return sent!.Notifications.Single().Id;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private sealed record FloodOutcome(StuckObservation Stuck, IReadOnlyList<long> StuckIds, int HealthyRounds, TimeSpan SlowestHealthy);

    /// <summary>What polling the stuck connection saw; times are from the start of the flood.</summary>
    private sealed class StuckObservation
    {
        public long PeakQueuedBytes { get; set; }

        public TimeSpan? FellBehindAfter { get; set; }

        public int SendsToFallBehind { get; set; }

        public TimeSpan? RemovedAfter { get; set; }
    }
}
