using Realtime.Server.Notifications;

namespace Realtime.Server.Preferences;

/// <summary>
/// At send time, before the commit: the recipients who muted the send's category (<c>inApp: false</c>)
/// get nothing stored or sent, and are answered as suppressed.
/// </summary>
internal sealed class RecipientFilter(PreferencesCache cache)
{
    public const string PreferencesReason = "preferences";

    /// <summary>The recipients who take notifications of <paramref name="category"/> (in request order), and those who muted it.</summary>
    public async Task<(IReadOnlyList<string> Kept, IReadOnlyList<SuppressedRecipient> Suppressed)> FilterAsync(
        IReadOnlyList<string> userIds, string category, CancellationToken cancellationToken)
    {
        var preferences = await cache.GetManyAsync(userIds, cancellationToken);
        var kept = new List<string>(userIds.Count);
        var suppressed = new List<SuppressedRecipient>();
        foreach (var userId in userIds)
        {
            if (preferences[userId].InApp(category))
            {
                kept.Add(userId);
            }
            else
            {
                suppressed.Add(new SuppressedRecipient(userId, PreferencesReason));
            }
        }
        return (kept, suppressed);
    }

    /// <summary>For an idempotent replay: every requested recipient the first call created nothing for was suppressed then.</summary>
    public static IReadOnlyList<SuppressedRecipient> SuppressedIn(IReadOnlyList<string> requested, IEnumerable<string> created)
    {
        var got = created.ToHashSet(StringComparer.Ordinal);
        return requested.Where(userId => !got.Contains(userId)).Select(userId => new SuppressedRecipient(userId, PreferencesReason)).ToList();
    }
}
