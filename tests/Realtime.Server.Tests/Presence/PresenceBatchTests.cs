using Realtime.Server.Presence;

namespace Realtime.Server.Tests.Presence;

/// <summary>How pending connection events fold into one write (pure logic, no I/O).</summary>
public sealed class PresenceBatchTests
{
    private static readonly DateTime Opened = new(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);

    private static ConnectionRecord Connection(string id) => new(id, "alice", "websockets", "agent", "127.0.0.1", Opened);

    [Fact]
    public void AConnectionThatClosesBeforeItIsWrittenIsInsertedClosed()
    {
        var batch = new PresenceBatch();
        batch.Open(Connection("c1"));
        batch.Close("c1", Opened.AddSeconds(1));

        Assert.Equal(Opened.AddSeconds(1), Assert.Single(batch.Opened).DisconnectedAt);
        Assert.Empty(batch.Closed);
        Assert.Equal(1, batch.Count);
    }

    [Fact]
    public void AConnectionWrittenEarlierIsClosedByAnUpdate()
    {
        var batch = new PresenceBatch();
        batch.Open(Connection("c2"));
        batch.Close("c1", Opened.AddSeconds(1));

        Assert.Null(Assert.Single(batch.Opened).DisconnectedAt);
        Assert.Equal(Opened.AddSeconds(1), batch.Closed["c1"]);
        Assert.Equal(2, batch.Count);

        batch.Clear();
        Assert.True(batch.IsEmpty);
    }

    [Fact]
    public void AnOverlongUserAgentIsCutAndNulCharactersAndEmptyHeadersAreDropped()
    {
        var overlong = new string('a', ConnectionRecord.MaxUserAgentLength + 10);

        Assert.Equal(ConnectionRecord.MaxUserAgentLength, ConnectionRecord.CleanText(overlong, ConnectionRecord.MaxUserAgentLength)!.Length);
        Assert.Equal("ab", ConnectionRecord.CleanText("a\0b", ConnectionRecord.MaxUserAgentLength));
        Assert.Null(ConnectionRecord.CleanText("", ConnectionRecord.MaxUserAgentLength));
        Assert.Null(ConnectionRecord.CleanText(null, ConnectionRecord.MaxUserAgentLength));
    }
}
