using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Presence;

namespace Realtime.IntegrationTests.Presence;

public sealed class ClosedConnectionRetentionFixture : ServerFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Presence:ClosedConnectionRetentionDays"] = "3" };
}

/// <summary><c>Presence__ClosedConnectionRetentionDays</c>: presence housekeeping purges closed connection rows older than that.</summary>
public sealed class ClosedConnectionRetentionTests(ClosedConnectionRetentionFixture fixture) : IClassFixture<ClosedConnectionRetentionFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task HousekeepingPurgesClosedConnectionRowsOlderThanTheRetentionAndKeepsYoungerOnes()
    {
        var server = fixture.Server;
        var store = server.Services.GetRequiredService<PresenceStore>();
        var prefix = $"retention-{Guid.NewGuid():N}";
        var now = DateTime.UtcNow;
        await using var connection = await fixture.Database.OpenAsync();
        const string Insert = """
            INSERT INTO connections (id, user_id, node_id, transport, connected_at, last_seen_at, disconnected_at)
            VALUES (@Id, @Id, 'gone-node', 'websockets', @At, @At, @Closed)
            """;
        await connection.ExecuteAsync(Insert, new { Id = prefix + "-old", At = now.AddDays(-5), Closed = (DateTime?)now.AddDays(-4) });
        await connection.ExecuteAsync(Insert, new { Id = prefix + "-young", At = now.AddDays(-3), Closed = (DateTime?)now.AddDays(-2) });

        // Housekeeping runs on its own too; one pass of this node's store (when no other node holds the lock) is enough.
        await Eventually.WaitUntilAsync(async () =>
            {
                await store.HousekeepAsync(CancellationToken.None); // null when the node's own pass holds the lock: that pass purges
                return await RowsAsync();
            },
            rows => !rows.Contains(prefix + "-old"), Patience, "the old closed row to be purged", rows => string.Join(", ", rows), TimeSpan.FromMilliseconds(100));

        Assert.Equal([prefix + "-young"], await RowsAsync());

        async Task<string[]> RowsAsync() =>
            (await connection.QueryAsync<string>("SELECT id FROM connections WHERE id LIKE @Prefix ORDER BY id", new { Prefix = prefix + "%" })).ToArray();
    }
}
