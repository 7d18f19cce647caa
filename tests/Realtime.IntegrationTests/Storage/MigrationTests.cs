using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Storage;

public sealed class MigrationTests
{
    [Fact]
    public async Task StartUpAppliesEveryMigrationOnceAndRecordsIt()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using (await RealtimeServer.StartAsync(database.ConnectionString))
        {
        }
        await using (await RealtimeServer.StartAsync(database.ConnectionString))
        {
        }

        await using var connection = await database.OpenAsync();
        var versions = (await connection.QueryAsync<int>("SELECT version FROM schema_migrations ORDER BY version")).ToList();
        Assert.NotEmpty(versions);
        Assert.Equal(versions.Distinct().Count(), versions.Count);
        Assert.Equal(1, versions[0]);
        Assert.True(await connection.ExecuteScalarAsync<bool>("SELECT to_regclass('notifications') IS NOT NULL"));
    }

    [Fact]
    public async Task SeveralNodesStartingAtOnceMigrateOnce()
    {
        await using var database = await TestDatabase.CreateAsync();
        var servers = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(() => RealtimeServer.StartAsync(database.ConnectionString))));
        foreach (var server in servers)
        {
            await server.DisposeAsync();
        }

        await using var connection = await database.OpenAsync();
        var rows = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM schema_migrations");
        var distinct = await connection.ExecuteScalarAsync<long>("SELECT count(DISTINCT version) FROM schema_migrations");
        Assert.Equal(distinct, rows);
    }

    [Fact]
    public async Task TheServerRefusesToStartOnASchemaNewerThanItself()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using (await RealtimeServer.StartAsync(database.ConnectionString))
        {
        }
        await using (var connection = await database.OpenAsync())
        {
            await connection.ExecuteAsync("INSERT INTO schema_migrations (version, name) VALUES (9999, 'from_the_future')");
        }

        var failed = await Assert.ThrowsAnyAsync<Exception>(() => RealtimeServer.StartAsync(database.ConnectionString));
        Assert.IsNotType<ArgumentException>(failed);
    }
}
