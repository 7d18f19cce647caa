using System.Collections.Concurrent;

namespace Realtime.Server.Templates;

/// <summary>
/// Compiled templates of this node, by key. A template is parsed once per version: an entry lives
/// <see cref="EntryLifetime"/>, then the stored version is read again and the compiled one kept
/// when it has not changed. A change on any node drops the entry on every node through the bus
/// (<see cref="Invalidate"/>); the short lifetime bounds how stale a node gets when that message is lost.
/// </summary>
internal sealed class TemplateCache(TemplateStore store, TemplateEngine engine, TimeProvider time)
{
    public const string CacheName = "templates";
    public static readonly TimeSpan EntryLifetime = TimeSpan.FromSeconds(10); // a lost invalidation leaves a node this stale at most
    public const int MaxEntries = 1_000; // past it, expired entries are swept before another is added

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private long _invalidations;

    /// <summary>The template stored under <paramref name="key"/>, compiled; null when there is none.</summary>
    public async Task<CompiledTemplate?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        _entries.TryGetValue(key, out var cached);
        if (cached is not null && cached.ExpiresAt > now)
        {
            return cached.Template;
        }

        var invalidations = Interlocked.Read(ref _invalidations);
        var stored = await store.FindAsync(key, cancellationToken);
        if (stored is null)
        {
            _entries.TryRemove(key, out _);
            return null;
        }
        var compiled = cached?.Template.Version == stored.Version ? cached.Template : CompiledTemplate.Compile(stored, engine);
        if (_entries.Count >= MaxEntries)
        {
            Sweep(now);
        }
        var entry = new Entry(compiled, now + EntryLifetime);
        _entries[key] = entry;
        if (Interlocked.Read(ref _invalidations) != invalidations)
        {
            // An invalidation came while this was read: what was read may predate it.
            _entries.TryRemove(KeyValuePair.Create(key, entry));
        }
        return compiled;
    }

    /// <summary>Drops <paramref name="key"/> (the template changed, here or on another node). Only enqueues work: safe on the bus's thread.</summary>
    public void Invalidate(string key)
    {
        Interlocked.Increment(ref _invalidations);
        _entries.TryRemove(key, out _);
    }

    private void Sweep(DateTimeOffset now)
    {
        foreach (var (key, entry) in _entries)
        {
            if (entry.ExpiresAt <= now)
            {
                _entries.TryRemove(KeyValuePair.Create(key, entry));
            }
        }
    }

    private sealed record Entry(CompiledTemplate Template, DateTimeOffset ExpiresAt);
}
