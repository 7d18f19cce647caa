using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;
using static Realtime.IntegrationTests.Infrastructure.Eventually;
using static Realtime.IntegrationTests.Infrastructure.ScaleOutTraffic;

namespace Realtime.IntegrationTests.Preferences;

/// <summary>
/// Each node caches preferences; a change made through one node drops the entry on every node
/// through the bus. The nodes here keep entries for an hour, so only the bus (or a reconnect of it)
/// can explain a node seeing a change.
/// </summary>
public sealed class TwoNodePreferencesTests : IAsyncLifetime
{
    private static readonly Dictionary<string, string?> LongCache = new() { ["Notifications:PreferencesCacheSeconds"] = "3600" };

    private readonly string _prefix = TestRedis.NewChannelPrefix();
    private TestDatabase _database = null!;
    private RedisProcess _redis = null!;
    private RealtimeServer _a = null!;
    private RealtimeServer _b = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        _redis = await RedisProcess.StartNewAsync(); // of its own: one test stops it
        _a = await RealtimeServer.StartAsync(_database.ConnectionString, Settings());
        _b = await RealtimeServer.StartAsync(_database.ConnectionString, Settings());
    }

    public async Task DisposeAsync()
    {
        await _b.DisposeAsync();
        await _a.DisposeAsync();
        await _redis.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task APreferenceChangeOnNodeAActsOnASendOnNodeBAtOnce()
    {
        var ann = SendApi.NewUserId("ann");
        Assert.True(await DeliveredAsync(_b, ann)); // B has cached ann's defaults
        Assert.True(await DeliveredAsync(_a, ann));

        await PreferencesApi.SaveAsync(_a, ann, Muted);
        Assert.False(await DeliveredAsync(_b, ann));
        Assert.False(await DeliveredAsync(_a, ann)); // A has now cached "muted"

        await PreferencesApi.SaveAsync(_b, ann, new { });
        Assert.True(await DeliveredAsync(_a, ann));
        Assert.True(await DeliveredAsync(_b, ann));
    }

    [Fact]
    public async Task AChangeWhoseInvalidationRedisLostReachesTheOtherNodeWhenTheBusReconnects()
    {
        var ann = SendApi.NewUserId("ann");
        Assert.True(await DeliveredAsync(_b, ann)); // B has cached ann's defaults

        await _redis.KillAsync();
        await WaitForRedisHealthAsync(_a.BaseAddress, "down", TimeSpan.FromSeconds(10));
        await PreferencesApi.SaveAsync(_a, ann, Muted); // its invalidation cannot reach B
        await _redis.StartAsync();
        await WaitForRedisHealthAsync(_b.BaseAddress, "up", TimeSpan.FromSeconds(15));

        // B drops its whole cache when its bus is back (within the hour its entries would otherwise live).
        await WaitUntilAsync(() => DeliveredAsync(_b, ann), delivered => !delivered, TimeSpan.FromSeconds(15), "ann's mute seen on B",
            interval: TimeSpan.FromMilliseconds(100));
    }

    private static readonly object Muted = new { categories = new { deals = new { inApp = false } } };

    private Dictionary<string, string?> Settings()
    {
        var settings = TestRedis.NodeSettings(_prefix, _redis.ConnectionString);
        foreach (var (key, value) in LongCache)
        {
            settings[key] = value;
        }
        return settings;
    }

    /// <summary>Sends a "deals" notification to <paramref name="user"/> through <paramref name="node"/>: true when created, false when suppressed.</summary>
    private static async Task<bool> DeliveredAsync(RealtimeServer node, string user)
    {
        using var sender = node.CreateApiClient(node.Tokens.Service());
        var sent = await SendApi.ReadSentAsync(await SendApi.PostAsync(sender, new { userId = user, title = "Deal", category = "deals" }));
        return sent.Count == 1;
    }
}
