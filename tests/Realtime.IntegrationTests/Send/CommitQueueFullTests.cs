using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Notifications;

namespace Realtime.IntegrationTests.Send;

/// <summary>
/// The group-commit queue is bounded: when PostgreSQL falls behind, sends beyond the bound are
/// refused at once with 503 and Retry-After (nothing written) instead of piling up in memory.
/// </summary>
public sealed class CommitQueueFullTests
{
    [Fact]
    public async Task ASendBeyondAFullCommitQueueIsAnswered503WithRetryAfterAndTheQueuedSendsStillCommit()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using var server = await RealtimeServer.StartAsync(database.ConnectionString, new Dictionary<string, string?>
        {
            ["Notifications:MaxQueuedSends"] = "1",
            ["Notifications:MaxTransactionsInFlight"] = "1", // one transaction at a time: the second send waits in the queue
        });
        var timeout = TimeSpan.FromSeconds(20);
        var queue = server.Services.GetRequiredService<GroupCommitQueue>();
        using var sender = server.CreateApiClient(server.Tokens.Service());

        // Hold the id lock: the first send's transaction waits for it, the second waits in the queue.
        await using var idLock = await IdLockHolder.HoldAsync(database);
        var committing = SendApi.PostAsync(sender, new { userId = SendApi.NewUserId(), title = "in the transaction" });
        await idLock.WaitUntilWaitedForAsync(timeout);
        var queued = SendApi.PostAsync(sender, new { userId = SendApi.NewUserId(), title = "in the queue" });
        await Eventually.WaitUntilAsync(() => Task.FromResult(queue.QueuedSends), count => count == 1, timeout, "the second send queued");

        var refusedUser = SendApi.NewUserId();
        var refused = await SendApi.PostAsync(sender, new { userId = refusedUser, title = "one too many" }).WaitAsync(timeout);

        await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.ServiceUnavailable);
        Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero, "503 carries Retry-After");
        await idLock.ReleaseAsync();
        Assert.Single(await SendApi.ReadSentAsync(await committing.WaitAsync(timeout)));
        Assert.Single(await SendApi.ReadSentAsync(await queued.WaitAsync(timeout)));
        Assert.Equal(0, await SendApi.StoredCountAsync(database, refusedUser));
    }
}
