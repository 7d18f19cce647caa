using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Auth.Oidc;

/// <summary>
/// A fake OpenID provider, a database, and one node that trusts only the provider: <c>Auth:Authority</c> set,
/// <c>Auth:SigningKey</c> and <c>Auth:Issuer</c> emptied (the server treats empty as unset).
/// </summary>
public class AuthorityFixture : IAsyncLifetime
{
    public FakeIdentityProvider Provider { get; private set; } = null!;

    public TestDatabase Database { get; private set; } = null!;

    public RealtimeServer Server { get; private set; } = null!;

    protected virtual IDictionary<string, string?> Settings(FakeIdentityProvider provider) => new Dictionary<string, string?>
    {
        ["Auth:Authority"] = provider.BaseAddress,
        ["Auth:SigningKey"] = "",
        ["Auth:Issuer"] = "",
    };

    public async Task InitializeAsync()
    {
        Provider = await FakeIdentityProvider.StartAsync(TestTokens.DefaultAudience);
        Database = await TestDatabase.CreateAsync();
        Server = await RealtimeServer.StartAsync(Database.ConnectionString, Settings(Provider));
    }

    public async Task DisposeAsync()
    {
        if (Server is not null) await Server.DisposeAsync();
        if (Database is not null) await Database.DisposeAsync();
        if (Provider is not null) await Provider.DisposeAsync();
    }
}

/// <summary>The same, but the node keeps the default HS256 key and issuer beside the authority.</summary>
public sealed class AuthorityBesideSigningKeyFixture : AuthorityFixture
{
    protected override IDictionary<string, string?> Settings(FakeIdentityProvider provider) => new Dictionary<string, string?>
    {
        ["Auth:Authority"] = provider.BaseAddress,
    };
}
