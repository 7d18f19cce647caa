using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Operations;

/// <summary>Every options class is checked at start-up: a bad value stops the server there, naming the setting, not at the first request.</summary>
public sealed class StartupValidationTests
{
    [Theory]
    [InlineData("Live:GapWait", "-00:00:01", "GapWait")]
    [InlineData("Live:ConnectionQueueCapacity", "0", "ConnectionQueueCapacity")]
    [InlineData("Live:ReplayPageSize", "-5", "ReplayPageSize")]
    [InlineData("RateLimits:SendsPerSecond", "-1", "SendsPerSecond")]
    [InlineData("Notifications:MaxQueuedSends", "0", "MaxQueuedSends")]
    [InlineData("Notifications:MaxTransactionsInFlight", "0", "MaxTransactionsInFlight")]
    [InlineData("Cors:AllowedOrigins", "https://app.example/path", "AllowedOrigins")]
    [InlineData("Presence:NodeTimeoutSeconds", "1", "NodeTimeoutSeconds")]
    [InlineData("Redis:ChannelPrefix", "has spaces", "ChannelPrefix")]
    public async Task TheServerRefusesToStartOnAnInvalidSettingAndNamesIt(string key, string value, string named)
    {
        var settings = new Dictionary<string, string?> { [key] = value };
        if (key.StartsWith("Redis:", StringComparison.Ordinal))
        {
            settings["ConnectionStrings:Redis"] = TestRedis.ConnectionString;
        }

        var refused = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var server = await RealtimeServer.StartAsync(TestEnvironment.PostgresAdminConnectionString, settings, waitUntilReady: false);
        });

        Assert.Contains(named, refused.ToString());
    }
}
