using Realtime.LoadTest.Servers;

namespace Realtime.Server.Tests.LoadTest;

/// <summary>The load tool says whether the server it starts runs with rate limits, and names every one of them.</summary>
public sealed class LoadTestRateLimitTests
{
    [Fact]
    public void EveryServerRateLimitIsTurnedOffByTheToolAndSaidSo()
    {
        Assert.Equal(
            ["RateLimits__SendsPerSecond", "RateLimits__UserRequestsPerSecond", "RateLimits__HubInvocationsPerSecond", "RateLimits__AnonymousRequestsPerSecond"],
            ServerLauncher.RateLimitVariables);
        var environment = new Dictionary<string, string?>();
        foreach (var variable in ServerLauncher.RateLimitVariables)
        {
            environment[variable] = "0";
        }

        Assert.StartsWith("off", ServerLauncher.DescribeRateLimits(environment));
    }

    [Fact]
    public void ALimitLeftOnByTheToolsEnvironmentIsNamed()
    {
        var environment = new Dictionary<string, string?> { ["RateLimits__SendsPerSecond"] = "0", ["RateLimits__HubInvocationsPerSecond"] = "20" };

        var described = ServerLauncher.DescribeRateLimits(environment);

        Assert.StartsWith("ON", described);
        Assert.Contains("RateLimits__HubInvocationsPerSecond=20", described);
        Assert.DoesNotContain("RateLimits__SendsPerSecond=0 (", described);
    }
}
