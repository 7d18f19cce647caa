using Npgsql;

namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>
/// A node that stays in start-up until the test says so: it is started against a database of its
/// own that it cannot reach yet (through a stopped proxy that keeps its port), and
/// <see cref="ReachDatabase"/> lets it finish.
/// </summary>
public sealed class StartingNode : IAsyncDisposable
{
    private readonly TestDatabase _database;
    private readonly TcpProxy _proxy;

    private StartingNode(TestDatabase database, TcpProxy proxy, RealtimeServer server)
    {
        _database = database;
        _proxy = proxy;
        Server = server;
    }

    public RealtimeServer Server { get; }

    public static async Task<StartingNode> StartAsync()
    {
        var database = await TestDatabase.CreateAsync();
        var direct = new NpgsqlConnectionStringBuilder(database.ConnectionString);
        var proxy = new TcpProxy(direct.Host!, direct.Port);
        proxy.Start();
        await proxy.StopAsync(); // keeps its port
        var viaProxy = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port };
        var server = await RealtimeServer.StartAsync(viaProxy.ConnectionString, waitUntilReady: false);
        return new StartingNode(database, proxy, server);
    }

    /// <summary>The database answers from now on: the node's next start-up attempt succeeds.</summary>
    public void ReachDatabase() => _proxy.Start();

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        await _proxy.DisposeAsync();
        await _database.DisposeAsync();
    }
}
