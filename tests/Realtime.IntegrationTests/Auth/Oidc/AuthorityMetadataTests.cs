using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;

namespace Realtime.IntegrationTests.Auth.Oidc;

/// <summary>
/// How a node gets the authority's metadata and keys: never over plain HTTP from another host, and again
/// when a token names a key it has not seen (key rotation). Each test starts its own provider and node.
/// </summary>
public sealed class AuthorityMetadataTests : IAsyncLifetime
{
    private static readonly TimeSpan RefreshTimeout = TimeSpan.FromSeconds(15);

    private TestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await TestDatabase.CreateAsync();

    public async Task DisposeAsync()
    {
        if (_database is not null) await _database.DisposeAsync();
    }

    /// <summary>
    /// Plain-HTTP metadata is allowed only for loopback authorities. Two answers keep that promise: refusing to
    /// start with an error naming the setting, or running (anonymous endpoints answer) while refusing every
    /// token of that authority without ever fetching its metadata or keys.
    /// </summary>
    [Fact]
    public async Task APlainHttpAuthorityOnAnotherHostIsRefusedAtStartOrNeverFetched()
    {
        // The machine's own name is no loopback literal, so to the node this is a provider on another host.
        await using var provider = await FakeIdentityProvider.StartAsync(TestTokens.DefaultAudience, publicHost: Dns.GetHostName());
        Assert.False(new Uri(provider.BaseAddress).IsLoopback, $"{provider.BaseAddress} should not look like loopback.");
        using (var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
        {
            // Precondition: the provider answers under that name, so only the node's policy can keep it away.
            var metadata = await probe.GetAsync(provider.BaseAddress + FakeIdentityProvider.MetadataPath);
            Assert.Equal(HttpStatusCode.OK, metadata.StatusCode);
        }
        var fetchedBefore = provider.MetadataRequests + provider.JwksRequests;

        await using var node = new UnwaitedNode(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = _database.ConnectionString,
            ["ConnectionStrings:Redis"] = null,
            ["Auth:Authority"] = provider.BaseAddress,
            ["Auth:SigningKey"] = "",
            ["Auth:Issuer"] = "",
            ["Auth:Audience"] = TestTokens.DefaultAudience,
        });
        Uri baseAddress;
        try
        {
            baseAddress = node.Start();
        }
        catch (Exception refused)
        {
            Assert.Contains("Authority", refused.ToString());
            Assert.Equal(fetchedBefore, provider.MetadataRequests + provider.JwksRequests);
            return;
        }

        using var anonymous = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(10) };
        var live = await anonymous.GetAsync("/health/live");
        Assert.True(live.StatusCode == HttpStatusCode.OK,
            $"The node started with a plain-HTTP authority on another host, but the anonymous /health/live answered " +
            $"{(int)live.StatusCode}: {await live.Content.ReadAsStringAsync()}");

        using var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(10) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", provider.Mint(SendApi.NewUserId()));
        await ProblemAssert.IsProblemAsync(await client.GetAsync(SendApi.Path), HttpStatusCode.Unauthorized);
        Assert.Equal(fetchedBefore, provider.MetadataRequests + provider.JwksRequests);
    }

    [Fact]
    public async Task ATokenSignedWithANewlyPublishedKeyIsAcceptedOnceTheNodeRefetchesTheKeys()
    {
        await using var provider = await FakeIdentityProvider.StartAsync(TestTokens.DefaultAudience);
        var settings = new Dictionary<string, string?>
        {
            ["Auth:Authority"] = provider.BaseAddress,
            ["Auth:SigningKey"] = "",
            ["Auth:Issuer"] = "",
        };
        await using var server = await RealtimeServer.StartAsync(_database.ConnectionString, settings);
        var user = SendApi.NewUserId();
        using (var before = server.CreateApiClient(provider.Mint(user)))
        {
            Assert.Equal(HttpStatusCode.OK, (await before.GetAsync(SendApi.Path)).StatusCode);
        }
        var jwksBefore = provider.JwksRequests;

        var rotated = provider.PublishNewRsaKey("fake-rsa-2");
        using var client = server.CreateApiClient(provider.Mint(user, rotated));
        // An unknown kid makes the node refetch the JWKS; the request that triggers it may still be refused.
        var statuses = new List<HttpStatusCode>();
        await Eventually.WaitUntilAsync(
            async () =>
            {
                var status = (await client.GetAsync(SendApi.Path)).StatusCode;
                statuses.Add(status);
                Assert.True(status is HttpStatusCode.OK or HttpStatusCode.Unauthorized, $"Unexpected status while the keys refresh: {string.Join(", ", statuses)}");
                return status;
            },
            status => status == HttpStatusCode.OK, RefreshTimeout, "accepting a token signed with the newly published key",
            _ => string.Join(", ", statuses), TimeSpan.FromMilliseconds(100));
        Assert.True(provider.JwksRequests > jwksBefore, "The node accepted the new key without fetching the JWKS again.");
    }

    /// <summary>
    /// A node like <see cref="RealtimeServer"/>'s, but <see cref="Start"/> returns as soon as Kestrel listens
    /// (RealtimeServer waits up to 30 s for /health/ready, which a misconfigured node may never reach).
    /// </summary>
    private sealed class UnwaitedNode(Dictionary<string, string?> settings) : WebApplicationFactory<Program>
    {
        public Uri Start()
        {
            UseKestrel(0);
            StartServer();
            var addresses = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!;
            return new Uri(addresses.Addresses.First().Replace("[::]", "127.0.0.1").Replace("localhost", "127.0.0.1"));
        }

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Testing");
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }
            builder.UseSetting("urls", "http://127.0.0.1:0");
        }
    }
}
