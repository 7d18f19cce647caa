using Realtime.Server.Preferences;
using Realtime.Server.Push;

namespace Realtime.Server.Tests.Preferences;

public sealed class PushScheduleTests
{
    private static readonly IReadOnlySet<string> Mandatory = new HashSet<string> { "system", "security" };
    private static readonly DateTime Night = new(2027, 1, 10, 23, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime Noon = new(2027, 1, 10, 12, 0, 0, DateTimeKind.Utc);

    private static EffectivePreferences Preferences(ChannelPreferences? channels = null, Dictionary<string, CategoryPreferences>? categories = null, bool quiet = false) =>
        new("ann", new PreferencesDocument(null, quiet ? "UTC" : null, channels ?? ChannelPreferences.AllOn,
            categories ?? new Dictionary<string, CategoryPreferences>(), quiet ? new QuietHoursWindow("22:00", "07:00") : null), Mandatory);

    [Fact]
    public void WithoutPreferencesEveryPushGoesOutAtOnce() =>
        Assert.Equal(PushDecision.Now, PushSchedule.Decide(Preferences(), "general", "normal", Night));

    [Fact]
    public void PushOffByDefaultOrForTheCategoryMeansNever()
    {
        Assert.Equal(PushDecision.Off, PushSchedule.Decide(Preferences(channels: new(true, false)), "general", "urgent", Noon));
        Assert.Equal(PushDecision.Off, PushSchedule.Decide(Preferences(categories: new() { ["deals"] = new(null, false) }), "deals", "normal", Noon));
        Assert.Equal(PushDecision.Now, PushSchedule.Decide(Preferences(categories: new() { ["deals"] = new(null, false) }), "orders", "normal", Noon));
        // A category override wins over the channel default.
        Assert.Equal(PushDecision.Now, PushSchedule.Decide(Preferences(channels: new(true, false), categories: new() { ["orders"] = new(null, true) }), "orders", "normal", Noon));
    }

    [Fact]
    public void MandatoryCategoriesArePushedWhateverTheChannelDefaultsSay() =>
        Assert.Equal(PushDecision.Now, PushSchedule.Decide(Preferences(channels: new(false, false)), "security", "normal", Noon));

    [Fact]
    public void InsideQuietHoursAPushIsHeldUntilTheirEndExceptAnUrgentOne()
    {
        var preferences = Preferences(quiet: true);
        Assert.Equal(PushDecision.Hold(new DateTime(2027, 1, 11, 7, 0, 0, DateTimeKind.Utc)), PushSchedule.Decide(preferences, "general", "high", Night));
        Assert.Equal(PushDecision.Now, PushSchedule.Decide(preferences, "general", "urgent", Night));
        Assert.Equal(PushDecision.Now, PushSchedule.Decide(preferences, "general", "normal", Noon));
        // Quiet hours are about when, not whether: mandatory categories wait too.
        Assert.NotNull(PushSchedule.Decide(preferences, "security", "high", Night).HoldUntil);
    }
}
