using Npgsql;
using Realtime.Server.Storage;

namespace Realtime.Server.Tests.Storage;

/// <summary>The pool's connection string: statements auto-prepared unless the operator says otherwise, no reset on close.</summary>
public sealed class PooledConnectionStringTests
{
    private const string Configured = "Host=127.0.0.1;Port=5432;Username=postgres;Database=realtime";

    [Fact]
    public void AStringThatDoesNotNameMaxAutoPrepareGetsTheDefault()
    {
        var pooled = new NpgsqlConnectionStringBuilder(StorageSetup.PooledConnectionString(Configured));

        Assert.Equal(StorageSetup.DefaultMaxAutoPrepare, pooled.MaxAutoPrepare);
        Assert.True(pooled.NoResetOnClose);
        Assert.Equal("realtime", pooled.Database);
    }

    [Theory]
    [InlineData("Max Auto Prepare=0", 0)]
    [InlineData("maxautoprepare=0", 0)]
    [InlineData("Max Auto Prepare=10", 10)]
    public void AStringThatNamesMaxAutoPrepareKeepsItsValueZeroIncluded(string setting, int expected)
    {
        var pooled = new NpgsqlConnectionStringBuilder(StorageSetup.PooledConnectionString($"{Configured};{setting}"));

        Assert.Equal(expected, pooled.MaxAutoPrepare);
    }
}
