namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>The Redis that ./test.sh starts; each test class uses a channel prefix of its own.</summary>
public static class TestRedis
{
    public static string ConnectionString =>
        Environment.GetEnvironmentVariable("ConnectionStrings__Redis") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                "ConnectionStrings__Redis is not set. Run the tests with ./test.sh, which starts a throwaway Redis (and PostgreSQL) and sets it.");

    public static string NewChannelPrefix() => "test-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>Settings that put a node on the Redis bus under <paramref name="channelPrefix"/>.</summary>
    public static Dictionary<string, string?> NodeSettings(string channelPrefix, string? connectionString = null) => new()
    {
        ["ConnectionStrings:Redis"] = connectionString ?? ConnectionString,
        ["Redis:ChannelPrefix"] = channelPrefix,
    };
}
