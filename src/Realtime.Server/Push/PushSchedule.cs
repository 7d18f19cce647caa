using Realtime.Server.Contracts;
using Realtime.Server.Preferences;

namespace Realtime.Server.Push;

/// <summary>What a user's preferences say about pushing one notification at one instant.</summary>
internal readonly record struct PushDecision(bool Never, DateTime? HoldUntil)
{
    public static readonly PushDecision Now = new(false, null);
    public static readonly PushDecision Off = new(true, null);

    public static PushDecision Hold(DateTime until) => new(false, until);
}

/// <summary>
/// The push side of the preferences: a category muted or with <c>push: false</c> is never pushed;
/// inside the user's quiet hours a push waits for the window's end, unless its priority is
/// <c>urgent</c>. The planner asks when it writes jobs, the worker again when it claims them
/// (preferences may have changed meanwhile, or a retry may fall inside the window).
/// </summary>
internal sealed class PushSchedule(PreferencesCache cache)
{
    /// <summary>One decision per item, in order, from each user's current preferences.</summary>
    public async Task<PushDecision[]> DecideAsync(IReadOnlyList<(string UserId, string Category, string Priority)> items, DateTime now, CancellationToken cancellationToken)
    {
        if (items.Count == 0)
        {
            return [];
        }
        var preferences = await cache.GetManyAsync(items.Select(i => i.UserId).Distinct(StringComparer.Ordinal).ToList(), cancellationToken);
        return items.Select(i => Decide(preferences[i.UserId], i.Category, i.Priority, now)).ToArray();
    }

    public static PushDecision Decide(EffectivePreferences preferences, string category, string priority, DateTime now)
    {
        if (!preferences.InApp(category) || !preferences.Push(category))
        {
            return PushDecision.Off;
        }
        if (priority == NotificationPriority.Urgent)
        {
            return PushDecision.Now;
        }
        return preferences.QuietHours?.EndAfter(now) is { } end ? PushDecision.Hold(end) : PushDecision.Now;
    }
}
