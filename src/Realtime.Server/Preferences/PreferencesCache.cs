using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Realtime.Server.Bus;

namespace Realtime.Server.Preferences;

/// <summary>
/// This node's cache of users' effective preferences, read by every send (to filter recipients),
/// by the push planner and worker, and by template rendering (for locales). A change made on any
/// node drops the user's entry on every node through the bus (<see cref="CacheInvalidation"/>);
/// with a bus to other nodes (Redis), entries also expire after <see cref="PreferencesOptions.PreferencesCacheSeconds"/>,
/// and the whole cache is dropped when the bus reconnects (messages sent meanwhile are lost), so a lost
/// message leaves a node stale for seconds at most. A node that runs alone has nothing to lose: its
/// entries live until a change drops them (or the bounded cache is swept).
/// </summary>
internal sealed class PreferencesCache
{
    /// <summary>The name of this cache in <see cref="CacheInvalidation.Cache"/>.</summary>
    public const string CacheName = "preferences";

    /// <summary>Past this many entries, expired ones are swept (and, if that is not enough, all): memory stays bounded.</summary>
    private const int MaxEntries = 100_000;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly PreferencesStore _store;
    private readonly TimeProvider _time;
    private readonly TimeSpan _lifetime;
    private readonly IReadOnlySet<string> _mandatory;
    private readonly CoalescingLoader<string, EffectivePreferences> _loader;

    /// <summary>Counts invalidations: a load that raced one is returned but not cached (it may predate the change).</summary>
    private long _generation;

    public PreferencesCache(PreferencesStore store, IMessageBus bus, TimeProvider time, IOptions<PreferencesOptions> options)
    {
        _store = store;
        _time = time;
        _lifetime = Lifetime(options.Value.PreferencesCacheSeconds, bus.IsLocal);
        _mandatory = options.Value.MandatorySet();
        _loader = new CoalescingLoader<string, EffectivePreferences>(LoadAsync, StringComparer.Ordinal);
        bus.OnCacheInvalidation(invalidation =>
        {
            if (invalidation.Cache == CacheName)
            {
                Invalidate(invalidation.Key);
            }
        });
        bus.Reconnected += Clear;
    }

    /// <summary>The mandatory categories (<c>Notifications__MandatoryCategories</c>).</summary>
    public IReadOnlySet<string> MandatoryCategories => _mandatory;

    /// <summary>One user's effective preferences (the defaults when they saved none).</summary>
    public async Task<EffectivePreferences> GetAsync(string userId, CancellationToken cancellationToken) =>
        (await GetManyAsync([userId], cancellationToken))[userId];

    /// <summary>
    /// The effective preferences of each of <paramref name="userIds"/> (every one is in the answer;
    /// the defaults for those who saved none), from this node's cache, reading the missing and
    /// expired ones from PostgreSQL in one query, shared with every other request missing users meanwhile.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, EffectivePreferences>> GetManyAsync(IReadOnlyCollection<string> userIds, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, EffectivePreferences>(userIds.Count, StringComparer.Ordinal);
        List<string>? missing = null;
        var now = _time.GetTimestamp();
        foreach (var userId in userIds)
        {
            if (_entries.TryGetValue(userId, out var entry) && _time.GetElapsedTime(entry.LoadedAt, now) < _lifetime)
            {
                result[userId] = entry.Value;
            }
            else if (!result.ContainsKey(userId))
            {
                (missing ??= []).Add(userId);
            }
        }
        if (missing is null)
        {
            return result;
        }

        var loaded = await _loader.LoadAsync(missing, cancellationToken);
        foreach (var userId in missing)
        {
            result[userId] = loaded[userId];
        }
        return result;
    }

    /// <summary>
    /// One query for every user of a coalesced batch (<see cref="CoalescingLoader{TKey, TValue}"/>):
    /// each gets their stored preferences or the defaults, and is cached either way (a user who saves
    /// preferences later is invalidated by the bus like any other).
    /// </summary>
    private async Task<IReadOnlyDictionary<string, EffectivePreferences>> LoadAsync(IReadOnlyCollection<string> userIds)
    {
        var generation = Interlocked.Read(ref _generation);
        var loadedAt = _time.GetTimestamp();
        var stored = await _store.LoadAsync(userIds, CancellationToken.None);
        var cacheable = _lifetime > TimeSpan.Zero && Interlocked.Read(ref _generation) == generation;
        if (cacheable && _entries.Count + userIds.Count > MaxEntries)
        {
            Sweep();
        }
        var result = new Dictionary<string, EffectivePreferences>(userIds.Count, StringComparer.Ordinal);
        foreach (var userId in userIds)
        {
            var value = new EffectivePreferences(userId, stored.GetValueOrDefault(userId) ?? PreferencesDocument.Default, _mandatory);
            result[userId] = value;
            if (cacheable)
            {
                _entries[userId] = new Entry(value, loadedAt);
            }
        }
        // An invalidation that arrived while these were stored may have been overtaken: drop them again.
        if (cacheable && Interlocked.Read(ref _generation) != generation)
        {
            foreach (var userId in userIds)
            {
                _entries.TryRemove(userId, out _);
            }
        }
        return result;
    }

    /// <summary>
    /// How long an entry is trusted: <paramref name="seconds"/> (0: nothing is cached) on a node with a bus to
    /// others, where an invalidation can be lost; for good on a node that runs alone, whose bus is in-process
    /// and loses nothing (a change made through it drops the entry at once). With many users the expiry
    /// made most sends wait for a preferences query first: at 1,000 sends/s to 19,000 users each user is
    /// sent to every ~19 s, so with 10 s entries ~60% of sends missed (BENCHMARKS.md, End-to-end latency).
    /// </summary>
    internal static TimeSpan Lifetime(int seconds, bool aloneOnItsBus) =>
        seconds <= 0 ? TimeSpan.Zero : aloneOnItsBus ? TimeSpan.MaxValue : TimeSpan.FromSeconds(seconds);

    /// <summary>Drops one user's entry on this node (the bus calls it on every node when they change).</summary>
    public void Invalidate(string userId)
    {
        Interlocked.Increment(ref _generation);
        _entries.TryRemove(userId, out _);
    }

    /// <summary>Drops every entry (the bus reconnected: invalidations sent meanwhile were lost).</summary>
    public void Clear()
    {
        Interlocked.Increment(ref _generation);
        _entries.Clear();
    }

    private void Sweep()
    {
        var now = _time.GetTimestamp();
        foreach (var (userId, entry) in _entries)
        {
            if (_time.GetElapsedTime(entry.LoadedAt, now) >= _lifetime)
            {
                _entries.TryRemove(userId, out _);
            }
        }
        if (_entries.Count > MaxEntries / 2)
        {
            _entries.Clear();
        }
    }

    private sealed record Entry(EffectivePreferences Value, long LoadedAt);
}
