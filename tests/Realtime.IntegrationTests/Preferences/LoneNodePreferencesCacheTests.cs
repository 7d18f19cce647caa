using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;

namespace Realtime.IntegrationTests.Preferences;

/// <summary>
/// A node that runs alone (no Redis) has an in-process bus that loses no invalidation, so it keeps a
/// user's preferences until a change drops them instead of reading them again every
/// <c>Notifications:PreferencesCacheSeconds</c> (with 19,000 users sent to at 1,000/s, that expiry made
/// most sends wait for a preferences query). A row written behind the node's back (no invalidation)
/// shows whether it read them again; a change through its API still acts at once.
/// </summary>
public sealed class LoneNodePreferencesCacheTests : IAsyncLifetime
{
    private const string CopyPreferences = """
        INSERT INTO user_preferences (user_id, document, updated_at)
        SELECT @To, document, updated_at FROM user_preferences WHERE user_id = @From
        """;

    private static readonly object Muted = new { categories = new { deals = new { inApp = false } } };

    private readonly MovableClock _clock = new();
    private TestDatabase _database = null!;
    private RealtimeServer _server = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        _server = await RealtimeServer.StartAsync(_database.ConnectionString, new Dictionary<string, string?> { ["Notifications:PreferencesCacheSeconds"] = "10" },
            configureServices: services => services.AddSingleton<TimeProvider>(_clock));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task ALoneNodeKeepsAUsersPreferencesPastTheCacheLifetimeAndStillSeesAChangeMadeThroughItAtOnce()
    {
        var (ann, template) = (SendApi.NewUserId("ann"), SendApi.NewUserId("template"));
        Assert.True(await DeliveredAsync(ann)); // cached with the defaults
        await PreferencesApi.SaveAsync(_server, template, Muted);
        await using (var connection = await _database.OpenAsync())
        {
            Assert.Equal(1, await connection.ExecuteAsync(CopyPreferences, new { To = ann, From = template })); // behind the node's back
        }

        _clock.Advance(TimeSpan.FromSeconds(11)); // past the configured lifetime
        Assert.True(await DeliveredAsync(ann)); // still the cached defaults: not read again

        await PreferencesApi.SaveAsync(_server, ann, Muted);
        Assert.False(await DeliveredAsync(ann));
        await PreferencesApi.SaveAsync(_server, ann, new { });
        Assert.True(await DeliveredAsync(ann));
    }

    /// <summary>Sends a "deals" notification to <paramref name="user"/>: true when created, false when suppressed.</summary>
    private async Task<bool> DeliveredAsync(string user)
    {
        using var sender = _server.CreateApiClient(_server.Tokens.Service());
        return (await SendApi.ReadSentAsync(await SendApi.PostAsync(sender, new { userId = user, title = "Deal", category = "deals" }))).Count == 1;
    }

    /// <summary>The real clock whose timestamps (what the cache measures its entries' age with) a test moves forward.</summary>
    private sealed class MovableClock : TimeProvider
    {
        private long _offsetTicks;

        public override long GetTimestamp() =>
            base.GetTimestamp() + (long)(Interlocked.Read(ref _offsetTicks) * (TimestampFrequency / (double)TimeSpan.TicksPerSecond));

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

        public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
    }
}
