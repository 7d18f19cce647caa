using System.Text;
using MessagePack;
using Realtime.Server.Live;

namespace Realtime.Server.Tests.Live;

public sealed class MessagePackPayloadTests
{
    [Fact]
    public void AJsonTextBecomesTheEquivalentMessagePackMapWithKeysInOrder()
    {
        var json = """{"id":42,"title":"Über ✓","createdAt":"2026-11-30T13:00:00.123Z","data":{"n":-3,"r":0.5,"big":18446744073709551615,"huge":1e300,"ok":true,"no":false,"none":null,"list":[1,"two",{"three":3}]}}""";

        var packed = RawJsonMessagePackFormatter.FromJson(Encoding.UTF8.GetBytes(json));

        Assert.Equal(
            """{"id":42,"title":"Über ✓","createdAt":"2026-11-30T13:00:00.123Z","data":{"n":-3,"r":0.5,"big":18446744073709551615,"huge":1E+300,"ok":true,"no":false,"none":null,"list":[1,"two",{"three":3}]}}""",
            MessagePackSerializer.ConvertToJson(packed));
    }

    [Fact]
    public void ArraysAndScalarsAtTheTopLevelAreConvertedToo()
    {
        Assert.Equal("[]", MessagePackSerializer.ConvertToJson(RawJsonMessagePackFormatter.FromJson("[]"u8.ToArray())));
        Assert.Equal("\"text\"", MessagePackSerializer.ConvertToJson(RawJsonMessagePackFormatter.FromJson("\"text\""u8.ToArray())));
        Assert.Equal("7", MessagePackSerializer.ConvertToJson(RawJsonMessagePackFormatter.FromJson("7"u8.ToArray())));
    }
}
