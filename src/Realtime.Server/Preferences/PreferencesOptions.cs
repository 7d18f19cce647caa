using System.ComponentModel.DataAnnotations;

namespace Realtime.Server.Preferences;

/// <summary>The preferences' settings (section <c>Notifications</c>, beside the commit queue's).</summary>
internal sealed class PreferencesOptions
{
    public const string SectionName = "Notifications";

    /// <summary>Categories no user can mute or take off push (comma-separated): system notices and security alerts by default.</summary>
    public string MandatoryCategories { get; set; } = "system,security";

    /// <summary>
    /// How long a node with a bus to other nodes (Redis) trusts a cached user's preferences. A change
    /// reaches every node at once through the bus; this bounds how long a lost bus message can leave
    /// a node stale. A node that runs alone (no Redis) loses no message and keeps its entries until a
    /// change drops them; 0 turns the cache off on any node.
    /// </summary>
    [Range(0, 3600)]
    public int PreferencesCacheSeconds { get; set; } = 10;

    /// <summary>The mandatory categories as a set (blank entries ignored, ordinal like every category).</summary>
    public IReadOnlySet<string> MandatorySet() =>
        MandatoryCategories.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
}
