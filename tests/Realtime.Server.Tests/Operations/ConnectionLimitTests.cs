using Realtime.Server.Operations;

namespace Realtime.Server.Tests.Operations;

public sealed class ConnectionLimitTests
{
    private const string Limits = """
        Limit                     Soft Limit           Hard Limit           Units     
        Max cpu time              unlimited            unlimited            seconds   
        Max open files            20000                40000                files     
        Max locked memory         8388608              8388608              bytes     
        """;

    [Fact]
    public void TheSoftLimitOfOpenFilesIsReadFromProcSelfLimits() =>
        Assert.Equal(20_000, ConnectionLimit.ParseLimits(Limits));

    [Fact]
    public void AnUnlimitedOrMissingLimitSetsNoCap()
    {
        Assert.Null(ConnectionLimit.ParseLimits(Limits.Replace("20000                40000", "unlimited            unlimited", StringComparison.Ordinal)));
        Assert.Null(ConnectionLimit.ParseLimits("Limit  Soft Limit  Hard Limit  Units\n"));
    }

    [Fact]
    public void TheCapKeepsDescriptorsForTheIdleNodeItsPostgresPoolAndSomeHeadroom() =>
        Assert.Equal(20_000 - 400 - 50 - 100, ConnectionLimit.For(20_000, postgresPool: 50));

    [Fact]
    public void ANodeWithFewerDescriptorsThanItNeedsStillAcceptsOneConnection() =>
        Assert.Equal(1, ConnectionLimit.For(256, postgresPool: 100));
}
