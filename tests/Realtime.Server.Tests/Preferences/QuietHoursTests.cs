using System.Globalization;
using Realtime.Server.Preferences;

namespace Realtime.Server.Tests.Preferences;

public sealed class QuietHoursTests
{
    private static QuietHours Window(string start, string end, string zone) =>
        new(TimeOnly.Parse(start, CultureInfo.InvariantCulture), TimeOnly.Parse(end, CultureInfo.InvariantCulture), TimeZoneInfo.FindSystemTimeZoneById(zone));

    private static DateTime Utc(string value) =>
        DateTime.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

    [Theory]
    [InlineData("2027-01-10T21:59:59Z", false, null)]
    [InlineData("2027-01-10T22:00:00Z", true, "2027-01-11T07:00:00Z")]
    [InlineData("2027-01-10T23:30:00Z", true, "2027-01-11T07:00:00Z")]
    [InlineData("2027-01-11T00:00:00Z", true, "2027-01-11T07:00:00Z")]
    [InlineData("2027-01-11T06:59:59Z", true, "2027-01-11T07:00:00Z")]
    [InlineData("2027-01-11T07:00:00Z", false, null)]
    [InlineData("2027-01-11T12:00:00Z", false, null)]
    public void AWindowAcrossMidnightHoldsFromItsStartUntilItsEndTheNextMorning(string at, bool inside, string? end)
    {
        var quiet = Window("22:00", "07:00", "UTC");
        Assert.Equal(inside, quiet.Contains(Utc(at)));
        Assert.Equal(end is null ? null : Utc(end), quiet.EndAfter(Utc(at)));
    }

    [Theory]
    [InlineData("2027-01-11T08:59:00Z", false, null)]
    [InlineData("2027-01-11T09:00:00Z", true, "2027-01-11T17:00:00Z")]
    [InlineData("2027-01-11T16:59:00Z", true, "2027-01-11T17:00:00Z")]
    [InlineData("2027-01-11T17:00:00Z", false, null)]
    public void AWindowWithinOneDayEndsTheSameDay(string at, bool inside, string? end)
    {
        var quiet = Window("09:00", "17:00", "UTC");
        Assert.Equal(inside, quiet.Contains(Utc(at)));
        Assert.Equal(end is null ? null : Utc(end), quiet.EndAfter(Utc(at)));
    }

    [Theory]
    [InlineData("2027-01-11T22:00:00Z")]
    [InlineData("2027-01-11T03:00:00Z")]
    [InlineData("2027-03-28T01:30:00Z")]
    public void AWindowWhoseStartEqualsItsEndIsEmpty(string at)
    {
        var quiet = Window("22:00", "22:00", "Europe/Vienna");
        Assert.False(quiet.Contains(Utc(at)));
        Assert.Null(quiet.EndAfter(Utc(at)));
    }

    [Fact]
    public void TheTimeIsTheUsersLocalTime()
    {
        var quiet = Window("22:00", "07:00", "America/New_York");
        // 23:00 UTC is 18:00 in New York in January: not quiet; 04:00 UTC is 23:00 there: quiet until 07:00 EST = 12:00 UTC.
        Assert.False(quiet.Contains(Utc("2027-01-10T23:00:00Z")));
        Assert.Equal(Utc("2027-01-11T12:00:00Z"), quiet.EndAfter(Utc("2027-01-11T04:00:00Z")));
    }

    [Fact]
    public void InViennaTheNightOfTheSpringForwardEndsAnHourEarlierInUtc()
    {
        // 2027-03-28 02:00 CET the clocks go to 03:00 CEST: 07:00 local is 05:00 UTC, not 06:00.
        var quiet = Window("22:00", "07:00", "Europe/Vienna");
        Assert.Equal(Utc("2027-03-28T05:00:00Z"), quiet.EndAfter(Utc("2027-03-27T22:00:00Z")));
        Assert.Equal(Utc("2027-03-28T05:00:00Z"), quiet.EndAfter(Utc("2027-03-28T04:59:59Z")));
        Assert.False(quiet.Contains(Utc("2027-03-28T05:00:00Z")));
    }

    [Fact]
    public void AnEndTheSpringForwardSkipsIsTheInstantTheClocksJump()
    {
        // 02:30 does not exist in Vienna on 2027-03-28: the window ends at the jump, 01:00 UTC (03:00 CEST).
        var quiet = Window("22:00", "02:30", "Europe/Vienna");
        Assert.Equal(Utc("2027-03-28T01:00:00Z"), quiet.EndAfter(Utc("2027-03-27T23:30:00Z")));
        Assert.True(quiet.Contains(Utc("2027-03-28T00:59:59Z")));
        Assert.False(quiet.Contains(Utc("2027-03-28T01:00:00Z")));
    }

    [Fact]
    public void InViennaTheNightOfTheFallBackEndsAnHourLaterInUtc()
    {
        // 2027-10-31 03:00 CEST the clocks go back to 02:00 CET: 07:00 local is 06:00 UTC.
        var quiet = Window("22:00", "07:00", "Europe/Vienna");
        Assert.Equal(Utc("2027-10-31T06:00:00Z"), quiet.EndAfter(Utc("2027-10-30T21:00:00Z")));
    }

    [Fact]
    public void AnEndTheFallBackRepeatsEndsTheWindowAtItsNextOccurrence()
    {
        var quiet = Window("22:00", "02:30", "Europe/Vienna");
        // First pass (CEST): 02:30 local is 00:30 UTC.
        Assert.Equal(Utc("2027-10-31T00:30:00Z"), quiet.EndAfter(Utc("2027-10-30T21:00:00Z")));
        Assert.False(quiet.Contains(Utc("2027-10-31T00:45:00Z")));
        // By the wall clock 02:10 comes again (CET) and is inside: it ends at the second 02:30, 01:30 UTC.
        Assert.True(quiet.Contains(Utc("2027-10-31T01:10:00Z")));
        Assert.Equal(Utc("2027-10-31T01:30:00Z"), quiet.EndAfter(Utc("2027-10-31T01:10:00Z")));
    }

    [Fact]
    public void InNewYorkTheSpringForwardAndTheFallBackMoveTheEndInUtc()
    {
        var quiet = Window("23:00", "06:00", "America/New_York");
        // 2027-03-14 02:00 EST → 03:00 EDT: 06:00 EDT is 10:00 UTC.
        Assert.Equal(Utc("2027-03-14T10:00:00Z"), quiet.EndAfter(Utc("2027-03-14T04:00:00Z")));
        // 2027-11-07 02:00 EDT → 01:00 EST: 06:00 EST is 11:00 UTC.
        Assert.Equal(Utc("2027-11-07T11:00:00Z"), quiet.EndAfter(Utc("2027-11-07T04:00:00Z")));
    }

    [Theory]
    [InlineData("22:00", "07:00", "Europe/Vienna")]
    [InlineData("22:00", "02:30", "Europe/Vienna")]
    [InlineData("01:30", "02:30", "Europe/Vienna")]
    [InlineData("02:15", "06:00", "America/New_York")]
    [InlineData("23:00", "01:30", "America/New_York")]
    [InlineData("00:00", "23:59", "Australia/Lord_Howe")]
    [InlineData("08:00", "20:00", "Asia/Kathmandu")]
    public void EveryEndIsOutsideTheWindowAndTheMomentBeforeItInside(string start, string end, string zone)
    {
        var quiet = Window(start, end, zone);
        for (var at = Utc("2027-01-01T00:00:00Z"); at < Utc("2028-01-01T00:00:00Z"); at = at.AddMinutes(37))
        {
            if (quiet.EndAfter(at) is not { } ends)
            {
                Assert.False(quiet.Contains(at));
                continue;
            }
            Assert.True(ends > at, $"{at:o}: ends {ends:o}");
            Assert.True(ends - at <= TimeSpan.FromHours(26), $"{at:o}: ends {ends:o}");
            Assert.False(quiet.Contains(ends), $"{at:o}: still quiet at its end {ends:o}");
            var before = ends.AddSeconds(-1) > at ? ends.AddSeconds(-1) : at;
            Assert.True(quiet.Contains(before), $"{at:o}: not quiet just before its end {ends:o}");
        }
    }
}
