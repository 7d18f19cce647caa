using Realtime.Server.Preferences;

namespace Realtime.Server.Tests.Preferences;

public sealed class PreferencesCacheLifetimeTests
{
    [Fact]
    public void ANodeWithABusToOthersTrustsAnEntryForTheConfiguredSeconds() =>
        Assert.Equal(TimeSpan.FromSeconds(10), PreferencesCache.Lifetime(10, aloneOnItsBus: false));

    [Fact]
    public void ANodeThatRunsAloneKeepsAnEntryUntilAChangeDropsIt() =>
        Assert.Equal(TimeSpan.MaxValue, PreferencesCache.Lifetime(10, aloneOnItsBus: true));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ZeroSecondsCachesNothingOnAnyNode(bool alone) =>
        Assert.Equal(TimeSpan.Zero, PreferencesCache.Lifetime(0, alone));
}
