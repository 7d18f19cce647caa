using System.Text.Json;
using System.Text.Json.Serialization;

namespace Realtime.Server.Contracts;

/// <summary>
/// JSON text that is already valid and is written as it is, not re-serialized: a notification's
/// <c>data</c>, or a whole notification serialized once and sent to many connections.
/// </summary>
[JsonConverter(typeof(RawJsonConverter))]
internal sealed class RawJson(ReadOnlyMemory<byte> utf8)
{
    public ReadOnlyMemory<byte> Utf8 { get; } = utf8;

    public static RawJson FromText(string json) => new(System.Text.Encoding.UTF8.GetBytes(json));

    public override string ToString() => System.Text.Encoding.UTF8.GetString(Utf8.Span);
}

internal sealed class RawJsonConverter : JsonConverter<RawJson>
{
    public override RawJson Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var document = JsonDocument.ParseValue(ref reader);
        return new RawJson(JsonSerializer.SerializeToUtf8Bytes(document.RootElement, RealtimeJsonContext.Default.JsonElement));
    }

    public override void Write(Utf8JsonWriter writer, RawJson value, JsonSerializerOptions options) =>
        writer.WriteRawValue(value.Utf8.Span, skipInputValidation: true);
}
