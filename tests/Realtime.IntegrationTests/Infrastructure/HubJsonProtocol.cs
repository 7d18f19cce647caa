using System.Buffers;
using System.Text.Json;

namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>
/// Writers for the few messages a test client sends with the SignalR JSON hub protocol (version 1), already
/// framed with the record separator. Arguments are serialized with System.Text.Json web defaults (camelCase).
/// </summary>
internal static class HubJsonProtocol
{
    /// <summary>Message <c>type</c> values of the hub protocol.</summary>
    public static class MessageType
    {
        public const int Invocation = 1;
        public const int StreamItem = 2;
        public const int Completion = 3;
        public const int StreamInvocation = 4;
        public const int CancelInvocation = 5;
        public const int Ping = 6;
        public const int Close = 7;
        public const int Ack = 8;
        public const int Sequence = 9;
    }

    public static readonly JsonSerializerOptions SerializerOptions = new(JsonSerializerDefaults.Web);

    /// <summary>The handshake request, always JSON: <c>{"protocol":"json","version":1}</c> + 0x1E.</summary>
    public static byte[] HandshakeRequest { get; } = RecordSeparatorFramer.Frame("""{"protocol":"json","version":1}"""u8);

    /// <summary>A ping message: <c>{"type":6}</c> + 0x1E.</summary>
    public static byte[] Ping { get; } = RecordSeparatorFramer.Frame("""{"type":6}"""u8);

    /// <summary>An invocation; blocking (expects a completion) when <paramref name="invocationId"/> is set.</summary>
    public static byte[] Invocation(string? invocationId, string target, IReadOnlyList<object?> arguments)
    {
        var output = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(output))
        {
            writer.WriteStartObject();
            writer.WriteNumber("type", MessageType.Invocation);
            if (invocationId is not null)
            {
                writer.WriteString("invocationId", invocationId);
            }

            writer.WriteString("target", target);
            writer.WriteStartArray("arguments");
            foreach (var argument in arguments)
            {
                JsonSerializer.Serialize(writer, argument, argument?.GetType() ?? typeof(object), SerializerOptions);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return RecordSeparatorFramer.Frame(output.WrittenSpan);
    }
}
