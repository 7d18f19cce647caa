using System.Text.Json.Serialization;

namespace Realtime.Server.Preferences;

/// <summary>
/// A user's notification preferences, as <c>GET</c>/<c>PUT /api/preferences</c> carry them and as
/// they are stored: validated and normalized (both channels spelled out, categories in ordinal
/// order, the locale in conventional case). Every field is always present; <c>null</c> when unset.
/// </summary>
internal sealed record PreferencesDocument(
    string? Locale,
    string? TimeZone,
    ChannelPreferences Channels,
    IReadOnlyDictionary<string, CategoryPreferences> Categories,
    QuietHoursWindow? QuietHours)
{
    /// <summary>What a user who never saved any preferences has: every channel on, no quiet hours.</summary>
    public static readonly PreferencesDocument Default = new(null, null, ChannelPreferences.AllOn, new Dictionary<string, CategoryPreferences>(), null);
}

/// <summary>The user's defaults per channel: <c>inApp</c> (inbox and live) and <c>push</c> (Web Push).</summary>
internal sealed record ChannelPreferences(bool InApp, bool Push)
{
    public static readonly ChannelPreferences AllOn = new(true, true);
}

/// <summary>One category's overrides of the channel defaults; an unset one (left out) follows <see cref="ChannelPreferences"/>.</summary>
internal sealed record CategoryPreferences(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? InApp,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Push);

/// <summary>A daily window (<c>HH:mm</c>, in the document's <c>timeZone</c>) in which only urgent notifications are pushed.</summary>
internal sealed record QuietHoursWindow(string Start, string End);
