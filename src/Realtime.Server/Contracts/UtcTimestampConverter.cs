using System.Text.Json;
using System.Text.Json.Serialization;

namespace Realtime.Server.Contracts;

/// <summary>Timestamps on the wire: UTC, ISO 8601, always with milliseconds (<c>2026-11-21T23:50:00.123Z</c>).</summary>
internal sealed class UtcTimestampConverter : JsonConverter<DateTime>
{
    public const string Format = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    public override DateTime Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.GetDateTimeOffset().UtcDateTime;

    public override void Write(Utf8JsonWriter writer, DateTime value, JsonSerializerOptions options) =>
        writer.WriteStringValue(AsUtc(value).ToString(Format, System.Globalization.CultureInfo.InvariantCulture));

    private static DateTime AsUtc(DateTime value) =>
        value.Kind == DateTimeKind.Local ? value.ToUniversalTime() : DateTime.SpecifyKind(value, DateTimeKind.Utc);
}
