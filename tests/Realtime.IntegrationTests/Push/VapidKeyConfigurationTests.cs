using Microsoft.Extensions.Options;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Push;

namespace Realtime.IntegrationTests.Push;

/// <summary>Push__PublicKey/Push__PrivateKey: used as given, and a pair that does not match stops the node at start-up.</summary>
public sealed class VapidKeyConfigurationTests : IAsyncLifetime
{
    private TestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await TestDatabase.CreateAsync();

    public async Task DisposeAsync() => await _database.DisposeAsync();

    [Fact]
    public async Task AConfiguredKeyPairIsTheOneServed()
    {
        var pair = VapidKeys.Generate();
        await using var server = await RealtimeServer.StartAsync(_database.ConnectionString, new Dictionary<string, string?>
        {
            ["Push:PublicKey"] = pair.PublicKey,
            ["Push:PrivateKey"] = pair.PrivateKey,
        });
        Assert.Equal(pair.PublicKey, await PushApiClient.VapidPublicKeyAsync(server.CreateApiClient()));
    }

    [Fact]
    public async Task AKeyPairThatDoesNotMatchStopsStartUp()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Push:PublicKey"] = VapidKeys.Generate().PublicKey,
            ["Push:PrivateKey"] = VapidKeys.Generate().PrivateKey,
        };
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => RealtimeServer.StartAsync(_database.ConnectionString, settings));
        Assert.Contains("does not belong", error.Message);
    }
}
