using System.Net;
using System.Net.Http.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Bus;
using Realtime.Server.Notifications;

namespace Realtime.IntegrationTests.Send;

/// <summary>
/// Group commit shares one transaction between many senders: whatever PostgreSQL refuses in one
/// send (here a trigger installed in the test database raises for a marker title, the stand-in for
/// anything validation cannot foresee) must fail that send alone, answered 422, while every other
/// send of the batch is committed with ids in commit order.
/// </summary>
public sealed class GroupCommitIsolationTests : IAsyncLifetime
{
    private const string Poison = PoisonedTitles.Marker;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private TestDatabase _database = null!;
    private RealtimeServer _server = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        // One transaction at a time, so that the sends queued behind the first one share the next.
        _server = await RealtimeServer.StartAsync(_database.ConnectionString, new Dictionary<string, string?>
        {
            ["Notifications:MaxTransactionsInFlight"] = "1",
        });
        await PoisonedTitles.RefuseOnAsync(_database, "notification_contents", "broadcasts");
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task APoisonedSendInASharedTransactionFailsAloneWith422AndEveryInnocentSendIsCreated()
    {
        var log = _server.Services.GetRequiredService<GroupCommitQueue>();
        using var sender = _server.CreateApiClient(_server.Tokens.Service());
        using var admin = _server.CreateApiClient(_server.Tokens.Admin());

        // Hold the id lock so that every send below queues up for one shared transaction.
        await using var idLock = await IdLockHolder.HoldAsync(_database);
        var blocker = SendApi.PostAsync(sender, new { userId = SendApi.NewUserId("blocker"), title = "first in line" });
        await idLock.WaitUntilWaitedForAsync(Timeout);

        var requests = new List<(string Kind, string? UserId, Task<HttpResponseMessage> Response)>();
        for (var i = 0; i < 24; i++)
        {
            var userId = SendApi.NewUserId(i % 4 == 1 ? "victim-of-poison" : "innocent");
            var poisoned = i % 4 == 1;
            var keyed = i % 3 == 0;
            object body = keyed
                ? new { userId, title = poisoned ? $"{Poison} {i}" : $"innocent {i}", idempotencyKey = $"key-{i}-{Guid.NewGuid():N}" }
                : new { userId, title = poisoned ? $"{Poison} {i}" : $"innocent {i}" };
            requests.Add((poisoned ? "poisoned" : "innocent", userId, SendApi.PostAsync(sender, body)));
        }
        requests.Add(("innocent broadcast", null, admin.PostAsJsonAsync("/api/broadcasts", new { title = "innocent notice" })));
        requests.Add(("poisoned broadcast", null, admin.PostAsJsonAsync("/api/broadcasts", new { title = $"{Poison} notice" })));
        await Eventually.WaitUntilAsync(() => Task.FromResult(log.QueuedSends), queued => queued == requests.Count, Timeout, "every send queued");
        await idLock.ReleaseAsync();

        await SendApi.ReadSentAsync(await blocker.WaitAsync(Timeout));
        var ids = new List<long>();
        foreach (var (kind, userId, response) in requests)
        {
            var answer = await response.WaitAsync(Timeout);
            if (kind.StartsWith("poisoned", StringComparison.Ordinal))
            {
                var problem = await ProblemAssert.IsProblemAsync(answer, HttpStatusCode.UnprocessableEntity, kind);
                Assert.Contains("P0001", problem.GetProperty("detail").GetString());
                if (userId is not null)
                {
                    Assert.Equal(0, await SendApi.StoredCountAsync(_database, userId));
                }
            }
            else if (userId is not null)
            {
                var sent = Assert.Single(await SendApi.ReadSentAsync(answer));
                Assert.Equal(1, await SendApi.StoredCountAsync(_database, userId));
                Assert.Contains(await SendApi.InboxAsync(_server, userId), item => item.GetProperty("id").GetInt64() == sent.Id);
                ids.Add(sent.Id);
            }
            else
            {
                Assert.True(answer.StatusCode == HttpStatusCode.Created, $"{kind}: {(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync()}");
            }
        }
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public async Task AfterAPoisonedBatchSendsStillSucceedAndTheSequenceKeepsGrowing()
    {
        using var sender = _server.CreateApiClient(_server.Tokens.Service());
        var user = SendApi.NewUserId();

        var refused = await SendApi.PostAsync(sender, new { userId = user, title = $"{Poison} alone" });
        await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.UnprocessableEntity);
        var first = Assert.Single(await SendApi.ReadSentAsync(await SendApi.PostAsync(sender, new { userId = user, title = "after" })));
        var second = Assert.Single(await SendApi.ReadSentAsync(await SendApi.PostAsync(sender, new { userId = user, title = "after again" })));

        Assert.True(second.Id > first.Id);
        Assert.Equal(2, await SendApi.StoredCountAsync(_database, user));
    }

    [Fact]
    public async Task ARefusedSendPublishesItsIdRangeEmptyAtOnceSoNoSequencerWaitsForIt()
    {
        var batches = new System.Collections.Concurrent.ConcurrentQueue<NotificationBatch>();
        _server.Services.GetRequiredService<IMessageBus>().OnBatch(batches.Enqueue);
        using var sender = _server.CreateApiClient(_server.Tokens.Service());
        var users = new[] { SendApi.NewUserId(), SendApi.NewUserId() };

        await ProblemAssert.IsProblemAsync(await SendApi.PostAsync(sender, new { userIds = users, title = $"{Poison} for two" }), HttpStatusCode.UnprocessableEntity);
        var after = Assert.Single(await SendApi.ReadSentAsync(await SendApi.PostAsync(sender, new { userId = users[0], title = "after" })));

        var empty = await Eventually.WaitUntilAsync(
            () => Task.FromResult(batches.Where(b => b.Items.Count == 0).ToList()), found => found.Count > 0, Timeout, "an empty batch published");
        var range = Assert.Single(empty);
        Assert.Equal(2, range.LastId - range.FirstId + 1);
        Assert.True(range.LastId < after.Id, $"The refused range {range.FirstId}..{range.LastId} lies below the next send ({after.Id}).");
    }
}
