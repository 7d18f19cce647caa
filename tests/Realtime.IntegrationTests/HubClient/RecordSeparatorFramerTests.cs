using System.Text;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.HubClient;

public sealed class RecordSeparatorFramerTests
{
    private const string RS = "\u001e";

    [Fact]
    public void SeveralRecordsInOneChunkAreReadSeparately()
    {
        var framer = new RecordSeparatorFramer();
        framer.Append(Bytes("{}" + RS + "{\"type\":6}" + RS + "{\"a\""));

        Assert.Equal(["{}", "{\"type\":6}"], ReadAll(framer));
        Assert.Equal(4, framer.PendingByteCount);
    }

    [Fact]
    public void RecordSpanningChunksIsReadOnceComplete()
    {
        var framer = new RecordSeparatorFramer();
        framer.Append(Bytes("{\"type\":"));
        Assert.Empty(ReadAll(framer));

        framer.Append(Bytes("6}" + RS));

        Assert.Equal(["{\"type\":6}"], ReadAll(framer));
        Assert.Equal(0, framer.PendingByteCount);
    }

    [Fact]
    public void ByteByByteInputLargerThanTheInitialCapacityIsReassembled()
    {
        var records = Enumerable.Range(0, 50).Select(i => $"{{\"n\":{i},\"pad\":\"{new string('é', i)}\"}}").ToArray();
        var framer = new RecordSeparatorFramer(initialCapacity: 16);
        var read = new List<string>();

        foreach (var b in Bytes(string.Concat(records.Select(r => r + RS))))
        {
            framer.Append([b]);
            read.AddRange(ReadAll(framer));
        }

        Assert.Equal(records, read);
    }

    [Fact]
    public void FrameAppendsTheRecordSeparator()
    {
        Assert.Equal(Bytes("{}" + RS), RecordSeparatorFramer.Frame(Bytes("{}")));
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static List<string> ReadAll(RecordSeparatorFramer framer)
    {
        var records = new List<string>();
        while (framer.TryReadRecord(out var record))
        {
            records.Add(Encoding.UTF8.GetString(record.Span));
        }

        return records;
    }
}
