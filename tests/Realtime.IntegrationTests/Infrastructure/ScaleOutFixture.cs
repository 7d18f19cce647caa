namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>
/// Two nodes, A and B, on one database and one Redis channel prefix (the Redis ./test.sh runs): the
/// smallest deployment that scales out. Shared by the tests of one class.
/// </summary>
public class ScaleOutFixture : IAsyncLifetime
{
    public TestDatabase Database { get; private set; } = null!;

    public string ChannelPrefix { get; } = TestRedis.NewChannelPrefix();

    public RealtimeServer A { get; private set; } = null!;

    public RealtimeServer B { get; private set; } = null!;

    /// <summary>Both nodes: index i is "node i" when a test alternates between them.</summary>
    public RealtimeServer[] Nodes => [A, B];

    public virtual async Task InitializeAsync()
    {
        Database = await TestDatabase.CreateAsync();
        A = await RealtimeServer.StartAsync(Database.ConnectionString, TestRedis.NodeSettings(ChannelPrefix));
        B = await RealtimeServer.StartAsync(Database.ConnectionString, TestRedis.NodeSettings(ChannelPrefix));
    }

    public virtual async Task DisposeAsync()
    {
        await B.DisposeAsync();
        await A.DisposeAsync();
        await Database.DisposeAsync();
    }
}
