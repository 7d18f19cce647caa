namespace Realtime.Server.Preferences;

/// <summary>
/// One user's preferences as they act on sends and pushes: the stored document (or the defaults)
/// with the mandatory categories applied, and the quiet hours ready to compute with.
/// </summary>
internal sealed class EffectivePreferences
{
    private readonly IReadOnlySet<string> _mandatory;

    public EffectivePreferences(string userId, PreferencesDocument document, IReadOnlySet<string> mandatory)
    {
        UserId = userId;
        Document = document;
        _mandatory = mandatory;
        if (document is { QuietHours: { } window, TimeZone: { } zone } && TimeZoneInfo.TryFindSystemTimeZoneById(zone, out var timeZone))
        {
            QuietHours = new QuietHours(TimeOnly.ParseExact(window.Start, "HH:mm"), TimeOnly.ParseExact(window.End, "HH:mm"), timeZone);
        }
    }

    public string UserId { get; }

    public PreferencesDocument Document { get; }

    /// <summary>The user's preferred BCP 47 language tag (conventional case), or null when they set none.</summary>
    public string? Locale => Document.Locale;

    /// <summary>The user's quiet hours, or null when they set none.</summary>
    public QuietHours? QuietHours { get; }

    /// <summary>Whether notifications of <paramref name="category"/> reach this user at all (inbox and live).</summary>
    public bool InApp(string category) =>
        _mandatory.Contains(category) || (Document.Categories.GetValueOrDefault(category)?.InApp ?? Document.Channels.InApp);

    /// <summary>Whether notifications of <paramref name="category"/> may be sent to this user by Web Push.</summary>
    public bool Push(string category) =>
        _mandatory.Contains(category) || (Document.Categories.GetValueOrDefault(category)?.Push ?? Document.Channels.Push);
}
