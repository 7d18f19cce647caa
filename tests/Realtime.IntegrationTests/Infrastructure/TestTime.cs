namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>The real clock plus an offset a test can move forward (expiry without sleeping). Timers stay real.</summary>
public sealed class TestTime : TimeProvider
{
    private long _offsetTicks;

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
}
