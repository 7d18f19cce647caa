using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;
using Realtime.Server.Bus;
using Realtime.Server.Preferences;
using static Realtime.IntegrationTests.Infrastructure.Eventually;

namespace Realtime.IntegrationTests.Preferences;

/// <summary>
/// The preferences cache reloads an entry read in the second half of its life in the background
/// (a user sent to often never has a send wait for the query), and never serves one past its life.
/// A cache of its own over the node's real store, on a clock the test moves; the preferences are
/// changed behind the cache's back (no invalidation), so only a reload can show the change.
/// </summary>
public sealed class PreferencesRefreshTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private static readonly PreferencesDocument German = PreferencesDocument.Default with { Locale = "de" };
    private static readonly PreferencesDocument French = PreferencesDocument.Default with { Locale = "fr" };

    private readonly ManualTime _time = new();

    private PreferencesStore Store => fixture.Server.Services.GetRequiredService<PreferencesStore>();

    private PreferencesCache NewCache() =>
        new(Store, new InProcessBus(), _time, Options.Create(new PreferencesOptions { PreferencesCacheSeconds = (int)Lifetime.TotalSeconds }));

    [Fact]
    public async Task AnEntryReadInTheSecondHalfOfItsLifeIsServedAtOnceAndReloadedInTheBackground()
    {
        var cache = NewCache();
        var user = SendApi.NewUserId("refresh");
        Assert.Null((await cache.GetAsync(user, CancellationToken.None)).Document.Locale);
        await Store.SaveAsync(user, German, DateTime.UtcNow, CancellationToken.None);

        _time.Advance(Lifetime * 0.4);
        Assert.Null((await cache.GetAsync(user, CancellationToken.None)).Document.Locale); // young: served, not reloaded

        _time.Advance(Lifetime * 0.2);
        Assert.Null((await cache.GetAsync(user, CancellationToken.None)).Document.Locale); // ageing: still what it had
        await WaitUntilAsync(
            async () => (await cache.GetAsync(user, CancellationToken.None)).Document.Locale,
            locale => locale == "de", Patience, "the background reload to bring the saved locale, with the clock standing still");

        // The reload renewed the entry: past the first load's life it is still served, from the reload.
        await Store.SaveAsync(user, French, DateTime.UtcNow, CancellationToken.None);
        _time.Advance(Lifetime * 0.45);
        Assert.Equal("de", (await cache.GetAsync(user, CancellationToken.None)).Document.Locale);
    }

    [Fact]
    public async Task AnEntryPastItsLifeIsNeverServed()
    {
        var cache = NewCache();
        var user = SendApi.NewUserId("expired");
        Assert.Null((await cache.GetAsync(user, CancellationToken.None)).Document.Locale);
        await Store.SaveAsync(user, German, DateTime.UtcNow, CancellationToken.None);

        _time.Advance(Lifetime);
        Assert.Equal("de", (await cache.GetAsync(user, CancellationToken.None)).Document.Locale);
    }

    /// <summary>A clock that moves only when told (the cache measures ages with timestamps).</summary>
    private sealed class ManualTime : TimeProvider
    {
        private long _timestamp = 1_000_000;

        public override long GetTimestamp() => Interlocked.Read(ref _timestamp);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _timestamp, (long)(by.TotalSeconds * TimestampFrequency));
    }
}
