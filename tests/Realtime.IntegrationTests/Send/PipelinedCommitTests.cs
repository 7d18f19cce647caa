using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Bus;

namespace Realtime.IntegrationTests.Send;

/// <summary>
/// Group commit runs several transactions at once (the next starts while the previous one
/// commits). The guarantees must not notice: no send answers before its own COMMIT, ids grow in
/// commit order, each user's notifications arrive live in id order, once each, and a transaction
/// that fails fails only its own sends.
/// </summary>
public sealed class PipelinedCommitTests : IAsyncLifetime
{
    private const string Poison = PoisonedTitles.Marker;
    private const int TransactionsInFlight = 3;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private TestDatabase _database = null!;
    private RealtimeServer _server = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        _server = await RealtimeServer.StartAsync(_database.ConnectionString, new Dictionary<string, string?>
        {
            ["Notifications:MaxTransactionsInFlight"] = TransactionsInFlight.ToString(),
        });
        await PoisonedTitles.RefuseOnAsync(_database, "notification_contents");
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task ASecondTransactionStartsWhileTheFirstWaitsAndNeitherAnswersBeforeItsCommit()
    {
        using var sender = _server.CreateApiClient(_server.Tokens.Service());
        var (ann, bob) = (SendApi.NewUserId("ann"), SendApi.NewUserId("bob"));
        await using var annHub = await ConnectAsync(ann);
        await using var bobHub = await ConnectAsync(bob);

        await using var idLock = await IdLockHolder.HoldAsync(_database);
        var first = SendApi.PostAsync(sender, new { userId = ann, title = "first" });
        await WaitForIdLockWaitersAsync(1);
        var second = SendApi.PostAsync(sender, new { userId = bob, title = "second" });
        await WaitForIdLockWaitersAsync(2); // two transactions in flight at once, both before COMMIT

        Assert.False(first.IsCompleted, "The first send answered before its transaction could commit.");
        Assert.False(second.IsCompleted, "The second send answered before its transaction could commit.");
        Assert.Equal(0, await SendApi.StoredCountAsync(_database, ann) + await SendApi.StoredCountAsync(_database, bob));
        await idLock.ReleaseAsync();

        var annId = Assert.Single(await SendApi.ReadSentAsync(await first.WaitAsync(Timeout))).Id;
        var bobId = Assert.Single(await SendApi.ReadSentAsync(await second.WaitAsync(Timeout))).Id;
        Assert.NotEqual(annId, bobId);
        Assert.Equal(annId, (await annHub.WaitForAsync("notification")).GetProperty("id").GetInt64());
        Assert.Equal(bobId, (await bobHub.WaitForAsync("notification")).GetProperty("id").GetInt64());
    }

    [Fact]
    public async Task ConcurrentSendsToOneUserArriveLiveInIdOrderOnceEach()
    {
        const int senders = 8, sendsPerSender = 25;
        var user = SendApi.NewUserId("busy");
        await using var hub = await ConnectAsync(user);
        var answered = new ConcurrentBag<long>();

        await Task.WhenAll(Enumerable.Range(0, senders).Select(s => Task.Run(async () =>
        {
            using var client = _server.CreateApiClient(_server.Tokens.Service($"sender-{s}"));
            for (var i = 0; i < sendsPerSender; i++)
            {
                // Some sends also go to a user of their own, so transactions differ in size and overlap.
                object body = i % 4 == 0
                    ? new { userIds = new[] { user, SendApi.NewUserId("other") }, title = $"s{s}-{i}" }
                    : new { userId = user, title = $"s{s}-{i}" };
                foreach (var sent in await SendApi.ReadSentAsync(await client.PostAsJsonAsync(SendApi.Path, body)))
                {
                    if (sent.UserId == user)
                    {
                        answered.Add(sent.Id);
                    }
                }
            }
        }))).WaitAsync(Timeout);

        var received = (await hub.ReceivedAsync("notification", senders * sendsPerSender, Timeout)).Select(n => n.GetProperty("id").GetInt64()).ToList();
        Assert.Equal(answered.Order(), received); // every answered id, once, in increasing order
    }

    [Fact]
    public async Task AFailedTransactionFailsOnlyItsOwnSendWhileAnotherIsInFlight()
    {
        var batches = new ConcurrentQueue<NotificationBatch>();
        _server.Services.GetRequiredService<IMessageBus>().OnBatch(batches.Enqueue);
        using var sender = _server.CreateApiClient(_server.Tokens.Service());
        var (victim, innocent) = (SendApi.NewUserId("victim"), SendApi.NewUserId("innocent"));
        await using var innocentHub = await ConnectAsync(innocent);

        await using var idLock = await IdLockHolder.HoldAsync(_database);
        var poisoned = SendApi.PostAsync(sender, new { userId = victim, title = $"{Poison} first in line" });
        await WaitForIdLockWaitersAsync(1);
        var good = SendApi.PostAsync(sender, new { userId = innocent, title = "behind it" });
        await WaitForIdLockWaitersAsync(2);
        await idLock.ReleaseAsync();

        await ProblemAssert.IsProblemAsync(await poisoned.WaitAsync(Timeout), HttpStatusCode.UnprocessableEntity);
        var goodId = Assert.Single(await SendApi.ReadSentAsync(await good.WaitAsync(Timeout))).Id;
        Assert.Equal(goodId, (await innocentHub.WaitForAsync("notification")).GetProperty("id").GetInt64());
        Assert.Equal(0, await SendApi.StoredCountAsync(_database, victim));
        var empty = Assert.Single(batches, b => b.Items.Count == 0);
        Assert.True(empty.LastId < goodId, $"The failed range {empty.FirstId}..{empty.LastId} lies below the send behind it ({goodId}).");
    }

    private async Task<HubClient> ConnectAsync(string userId)
    {
        var hub = await _server.ConnectHubAsync(_server.Tokens.User(userId));
        await hub.InvokeAsync("Resume", 0);
        return hub;
    }

    private async Task WaitForIdLockWaitersAsync(int count)
    {
        await using var observer = await _database.OpenAsync();
        await Eventually.WaitUntilAsync(
            () => observer.ExecuteScalarAsync<long>("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"),
            waiting => waiting >= count, Timeout, $"{count} transactions waiting for the id lock");
    }
}
