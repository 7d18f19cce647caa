using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Bus;
using Realtime.Server.Presence;
using static Realtime.IntegrationTests.Infrastructure.Eventually;
using static Realtime.IntegrationTests.Presence.PresenceProbe;

namespace Realtime.IntegrationTests.Presence;

/// <summary>
/// A node's graceful stop closes its presence rows before it returns (DESIGN.md "Connection
/// records"), however many times its host is stopped: WebApplicationFactory's dispose and the
/// app's own <c>Run</c> both stop the host, at once. A stop that returned early let a test (or an
/// orchestrator) see the stopped node still listed in the stats.
/// </summary>
public sealed class NodeShutdownTests : IAsyncLifetime
{
    private TestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await TestDatabase.CreateAsync();

    public async Task DisposeAsync() => await _database.DisposeAsync();

    [Fact]
    public async Task ANodeStoppedTwiceAtOnceAnswersNeitherStopBeforeItsRowIsGone()
    {
        await using var node = await RealtimeServer.StartAsync(_database.ConnectionString);
        var nodeId = node.Services.GetRequiredService<NodeIdentity>().Id;
        var writer = node.Services.GetRequiredService<PresenceWriter>();

        // Hold the node's row, so the close waits in PostgreSQL for as long as the test needs.
        await using var holder = await _database.OpenAsync();
        await using var hold = await holder.BeginTransactionAsync();
        await holder.ExecuteAsync("SELECT 1 FROM nodes WHERE id = @nodeId FOR UPDATE", new { nodeId }, hold);

        var first = writer.StopAsync(CancellationToken.None);
        var second = writer.StopAsync(CancellationToken.None);
        await using var observer = await _database.OpenAsync();
        await WaitUntilAsync(
            () => observer.ExecuteScalarAsync<int>(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database() AND query LIKE '%DELETE FROM nodes%'"),
            waiting => waiting == 1, Patience, "the node's close waiting for its row");

        Assert.False(first.IsCompleted, "The first stop returned while the node's row was still there.");
        Assert.False(second.IsCompleted, "The second stop returned while the node's row was still there.");

        await hold.CommitAsync();
        await Task.WhenAll(first, second).WaitAsync(Patience);
        Assert.Equal(0, await observer.ExecuteScalarAsync<int>("SELECT count(*) FROM nodes WHERE id = @nodeId", new { nodeId }));
    }
}
