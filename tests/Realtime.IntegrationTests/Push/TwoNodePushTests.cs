using System.Net.Http.Json;
using Dapper;
using Realtime.IntegrationTests.Infrastructure;
using static Realtime.IntegrationTests.Infrastructure.Eventually;

namespace Realtime.IntegrationTests.Push;

/// <summary>Two nodes started at once on one fresh database, and a fake push service.</summary>
public sealed class TwoNodePushFixture : IAsyncLifetime
{
    public TestDatabase Database { get; private set; } = null!;
    public RealtimeServer A { get; private set; } = null!;
    public RealtimeServer B { get; private set; } = null!;
    public FakePushService PushService { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Database = await TestDatabase.CreateAsync();
        PushService = await FakePushService.StartAsync();
        var a = Task.Run(() => RealtimeServer.StartAsync(Database.ConnectionString, PushFixture.PushSettings()));
        var b = Task.Run(() => RealtimeServer.StartAsync(Database.ConnectionString, PushFixture.PushSettings()));
        A = await a;
        B = await b;
        PushService.ExpectedVapidKey = await PushApiClient.VapidPublicKeyAsync(A.CreateApiClient());
        PushService.ExpectedSubject = PushFixture.Subject;
    }

    public async Task DisposeAsync()
    {
        await A.DisposeAsync();
        await B.DisposeAsync();
        await PushService.DisposeAsync();
        await Database.DisposeAsync();
    }
}

/// <summary>Every node plans and sends, yet each notification is planned once and pushed once; all nodes sign with one key pair.</summary>
public sealed class TwoNodePushTests(TwoNodePushFixture cluster) : IClassFixture<TwoNodePushFixture>
{
    [Fact]
    public async Task NodesStartingAtOnceSignWithTheOneKeyPairThatWasStoredFirst()
    {
        var keyOfA = await PushApiClient.VapidPublicKeyAsync(cluster.A.CreateApiClient());
        var keyOfB = await PushApiClient.VapidPublicKeyAsync(cluster.B.CreateApiClient());
        Assert.Equal(keyOfA, keyOfB);
        await using var connection = await cluster.Database.OpenAsync();
        Assert.Equal(keyOfA, await connection.QuerySingleAsync<string>("SELECT public_key FROM push_vapid_keys"));
    }

    [Fact]
    public async Task EachNotificationIsPlannedAndPushedOnceNotOncePerNode()
    {
        var nodes = new[] { cluster.A, cluster.B };
        var users = Enumerable.Range(0, 3).Select(i => $"two-nodes-{i}-{Guid.NewGuid():N}"[..24]).ToList();
        var subscribers = new List<FakeSubscriber>();
        for (var i = 0; i < users.Count; i++)
        {
            var subscriber = cluster.PushService.NewSubscriber();
            subscribers.Add(subscriber);
            using var client = nodes[i % 2].CreateApiClient(nodes[i % 2].Tokens.User(users[i]));
            await PushApiClient.SubscribeAsync(client, subscriber);
        }

        var sent = new List<long>();
        for (var i = 0; i < 30; i++)
        {
            sent.Add(await nodes[i % 2].SendAsync(users[i % users.Count], $"Two nodes #{i}"));
        }

        var pushes = await WaitUntilAsync(
            () => Task.FromResult(subscribers.SelectMany(s => cluster.PushService.For(s)).Where(p => p.AnsweredStatus is not null).ToList()),
            p => p.Count >= sent.Count, TimeSpan.FromSeconds(20), $"{sent.Count} pushes", p => $"{p.Count} pushes");
        Assert.All(pushes, p => Assert.True(p.DecryptError is null && p.VapidError is null, p.ToString()));
        Assert.Equal(sent.Order(), pushes.Select(p => p.NotificationId).Order());

        // Both nodes planned and sent; still one job per notification and subscription.
        await PushApiClient.WaitUntilPlannedAsync(cluster.Database, sent.Max(), TimeSpan.FromSeconds(10));
        foreach (var user in users)
        {
            var jobs = await PushApiClient.JobsOfUserAsync(cluster.Database, user);
            Assert.Equal(10, jobs.Count);
            Assert.All(jobs, j => Assert.Equal("sent", j.State));
        }
        Assert.Equal(sent.Count, cluster.PushService.Received.Count(p => subscribers.Any(s => s.Id == p.SubscriberId)));
    }
}
