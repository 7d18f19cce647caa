namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>A database and one node on it, shared by the tests of one class.</summary>
public class ServerFixture : IAsyncLifetime
{
    public TestDatabase Database { get; private set; } = null!;

    public RealtimeServer Server { get; private set; } = null!;

    protected virtual IDictionary<string, string?> Settings => new Dictionary<string, string?>();

    public async Task InitializeAsync()
    {
        Database = await TestDatabase.CreateAsync();
        Server = await RealtimeServer.StartAsync(Database.ConnectionString, Settings);
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        await Database.DisposeAsync();
    }
}
