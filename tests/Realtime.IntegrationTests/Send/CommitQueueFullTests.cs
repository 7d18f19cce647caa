using System.Net;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Notifications;
using Realtime.Server.Storage;

namespace Realtime.IntegrationTests.Send;

/// <summary>
/// The group-commit queue is bounded: when PostgreSQL falls behind, sends beyond the bound are
/// refused at once with 503 and Retry-After (nothing written) instead of piling up in memory.
/// </summary>
public sealed class CommitQueueFullTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private TestDatabase _database = null!;
    private RealtimeServer _server = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        _server = await RealtimeServer.StartAsync(_database.ConnectionString, new Dictionary<string, string?>
        {
            ["Notifications:MaxQueuedSends"] = "1",
        });
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task ASendBeyondAFullCommitQueueIsAnswered503WithRetryAfterAndTheQueuedSendsStillCommit()
    {
        var queue = _server.Services.GetRequiredService<GroupCommitQueue>();
        using var sender = _server.CreateApiClient(_server.Tokens.Service());

        // Hold the id lock: the first send's transaction waits for it, the second waits in the queue.
        await using var holder = await _database.OpenAsync();
        await using var hold = await holder.BeginTransactionAsync();
        await holder.ExecuteAsync("SELECT pg_advisory_xact_lock(@Key)", new { Key = AdvisoryLocks.NotificationIds }, hold);
        var committing = SendApi.PostAsync(sender, new { userId = SendApi.NewUserId(), title = "in the transaction" });
        await Eventually.WaitUntilAsync(() => WaitingForTheLockAsync(holder), waiting => waiting, Timeout, "the first transaction waiting for the id lock");
        var queued = SendApi.PostAsync(sender, new { userId = SendApi.NewUserId(), title = "in the queue" });
        await Eventually.WaitUntilAsync(() => Task.FromResult(queue.QueuedSends), count => count == 1, Timeout, "the second send queued");

        var refusedUser = SendApi.NewUserId();
        var refused = await SendApi.PostAsync(sender, new { userId = refusedUser, title = "one too many" }).WaitAsync(Timeout);

        await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.ServiceUnavailable);
        Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero, "503 carries Retry-After");
        await hold.CommitAsync();
        Assert.Single(await SendApi.ReadSentAsync(await committing.WaitAsync(Timeout)));
        Assert.Single(await SendApi.ReadSentAsync(await queued.WaitAsync(Timeout)));
        Assert.Equal(0, await SendApi.StoredCountAsync(_database, refusedUser));
    }

    private static async Task<bool> WaitingForTheLockAsync(NpgsqlConnection observer) =>
        await observer.ExecuteScalarAsync<bool>(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted)");
}
