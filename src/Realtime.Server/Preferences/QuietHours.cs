namespace Realtime.Server.Preferences;

/// <summary>
/// A daily quiet window in a user's IANA time zone, by the wall clock: an instant is inside when
/// its local time of day is in [<see cref="Start"/>, <see cref="End"/>) (the window crosses midnight
/// when the end is earlier than the start; an equal start and end is an empty window). Pure
/// arithmetic, DST included: a window end that a spring-forward skips is the instant the clocks
/// jump; one that a fall-back repeats ends the window at its first occurrence after the instant.
/// </summary>
internal sealed class QuietHours(TimeOnly start, TimeOnly end, TimeZoneInfo timeZone)
{
    public TimeOnly Start { get; } = start;

    public TimeOnly End { get; } = end;

    public TimeZoneInfo TimeZone { get; } = timeZone;

    /// <summary>Whether <paramref name="utc"/> falls inside the window.</summary>
    public bool Contains(DateTime utc)
    {
        if (Start == End)
        {
            return false;
        }
        var local = TimeOnly.FromDateTime(TimeZoneInfo.ConvertTimeFromUtc(AsUtc(utc), TimeZone));
        return Start < End ? local >= Start && local < End : local >= Start || local < End;
    }

    /// <summary>When the window that holds <paramref name="utc"/> ends (UTC); null when <paramref name="utc"/> is outside.</summary>
    public DateTime? EndAfter(DateTime utc)
    {
        utc = AsUtc(utc);
        if (!Contains(utc))
        {
            return null;
        }
        var local = TimeZoneInfo.ConvertTimeFromUtc(utc, TimeZone);
        // Inside a window that crosses midnight, after its start: it ends tomorrow.
        var endDate = Start > End && TimeOnly.FromDateTime(local) >= Start ? local.Date.AddDays(1) : local.Date;
        var target = DateTime.SpecifyKind(endDate + End.ToTimeSpan(), DateTimeKind.Unspecified);
        return FirstInstantAtOrAfter(target, utc);
    }

    /// <summary>The first instant after <paramref name="after"/> at which the local clock shows <paramref name="wallClock"/> (or, in a gap, has jumped past it).</summary>
    private DateTime FirstInstantAtOrAfter(DateTime wallClock, DateTime after)
    {
        if (TimeZone.IsInvalidTime(wallClock))
        {
            // Skipped by a spring-forward: the window ends when the clocks jump. The jump lies between
            // the wall clock read with the offset after it and with the offset before it; local time
            // only moves forward in between, so a binary search finds the first instant at or past it.
            var before = TimeZone.GetUtcOffset(wallClock.AddDays(-1));
            var afterJump = TimeZone.GetUtcOffset(wallClock.AddDays(1));
            var low = (wallClock - (before > afterJump ? before : afterJump)).Ticks;
            var high = (wallClock - (before > afterJump ? afterJump : before)).Ticks;
            while (low < high)
            {
                var middle = low + (high - low) / 2;
                if (TimeZoneInfo.ConvertTimeFromUtc(new DateTime(middle, DateTimeKind.Utc), TimeZone) >= wallClock) high = middle;
                else low = middle + 1;
            }
            return new DateTime(low, DateTimeKind.Utc);
        }
        if (TimeZone.IsAmbiguousTime(wallClock))
        {
            // Repeated by a fall-back: its first occurrence after the instant (the later one when the instant is between them).
            return TimeZone.GetAmbiguousTimeOffsets(wallClock)
                .Select(offset => DateTime.SpecifyKind(wallClock - offset, DateTimeKind.Utc))
                .Where(instant => instant > after)
                .Min();
        }
        return DateTime.SpecifyKind(wallClock - TimeZone.GetUtcOffset(wallClock), DateTimeKind.Utc);
    }

    private static DateTime AsUtc(DateTime value) => value.Kind == DateTimeKind.Utc ? value : DateTime.SpecifyKind(value, DateTimeKind.Utc);
}
