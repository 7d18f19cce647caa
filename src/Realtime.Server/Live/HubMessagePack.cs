using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;
using Microsoft.AspNetCore.SignalR;
using Realtime.Server.Contracts;
using Realtime.Server.Observability;

namespace Realtime.Server.Live;

/// <summary>
/// The MessagePack hub protocol beside JSON. Payloads are pre-serialized JSON (<see cref="RawJson"/>);
/// over MessagePack each becomes the equivalent map (same keys, same values; timestamps stay the
/// ISO 8601 strings, <c>data</c> a nested map), encoded once per payload on this node and then
/// copied into every connection's frame.
/// </summary>
internal static class HubMessagePack
{
    public const string ProtocolName = "messagepack";

    public static ISignalRServerBuilder AddRealtimeMessagePack(this ISignalRServerBuilder signalR)
    {
        signalR.AddMessagePackProtocol();
        signalR.Services.AddSingleton<RawJsonMessagePackFormatter>();
        signalR.Services.AddOptions<MessagePackHubProtocolOptions>().Configure<RawJsonMessagePackFormatter>((options, formatter) =>
        {
            var standard = options.SerializerOptions;
            options.SerializerOptions = standard.WithResolver(CompositeResolver.Create([formatter], [standard.Resolver]));
        });
        return signalR;
    }
}

/// <summary>
/// Writes a <see cref="RawJson"/> as MessagePack. The encoding of each payload instance is made once
/// and kept beside it (weakly: it goes when the payload does), so a notification sent to a thousand
/// MessagePack connections is converted once.
/// </summary>
internal sealed class RawJsonMessagePackFormatter(RealtimeMetrics metrics) : IMessagePackFormatter<RawJson>
{
    private readonly ConditionalWeakTable<RawJson, Lazy<byte[]>> _encoded = new();

    public void Serialize(ref MessagePackWriter writer, RawJson value, MessagePackSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }
        // Several threads may race to add: only the stored Lazy is ever evaluated, so it is encoded once.
        writer.WriteRaw(_encoded.GetValue(value, json => new Lazy<byte[]>(() => Encode(json))).Value);
    }

    public RawJson Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options) =>
        throw new NotSupportedException("No hub method takes pre-serialized JSON.");

    private byte[] Encode(RawJson json)
    {
        metrics.HubPayloadEncoded(HubMessagePack.ProtocolName);
        return FromJson(json.Utf8);
    }

    /// <summary>The MessagePack equivalent of a JSON text.</summary>
    public static byte[] FromJson(ReadOnlyMemory<byte> utf8Json)
    {
        using var document = JsonDocument.Parse(utf8Json);
        var buffer = new ArrayBufferWriter<byte>(utf8Json.Length);
        var writer = new MessagePackWriter(buffer);
        Write(ref writer, document.RootElement);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private static void Write(ref MessagePackWriter writer, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var count = 0;
                foreach (var _ in element.EnumerateObject())
                {
                    count++;
                }
                writer.WriteMapHeader(count);
                foreach (var property in element.EnumerateObject())
                {
                    writer.Write(property.Name);
                    Write(ref writer, property.Value);
                }
                break;
            case JsonValueKind.Array:
                writer.WriteArrayHeader(element.GetArrayLength());
                foreach (var item in element.EnumerateArray())
                {
                    Write(ref writer, item);
                }
                break;
            case JsonValueKind.String:
                writer.Write(element.GetString());
                break;
            case JsonValueKind.Number:
                if (element.TryGetInt64(out var integer))
                {
                    writer.Write(integer);
                }
                else if (element.TryGetUInt64(out var unsigned))
                {
                    writer.Write(unsigned);
                }
                else
                {
                    writer.Write(element.GetDouble());
                }
                break;
            case JsonValueKind.True:
                writer.Write(true);
                break;
            case JsonValueKind.False:
                writer.Write(false);
                break;
            default:
                writer.WriteNil();
                break;
        }
    }
}
