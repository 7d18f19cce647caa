using System.Buffers;
using System.Text;
using System.Text.Json;
using Realtime.Server.Contracts;

namespace Realtime.Server.Tests.Notifications;

/// <summary>Timestamps on the wire: UTC, ISO 8601, always three decimals (<c>2026-11-21T23:50:00.123Z</c>).</summary>
public sealed class UtcTimestampConverterTests
{
    private static string Write(DateTime value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            new UtcTimestampConverter().Write(writer, value, JsonSerializerOptions.Default);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static DateTime Read(string json)
    {
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json));
        Assert.True(reader.Read());
        return new UtcTimestampConverter().Read(ref reader, typeof(DateTime), JsonSerializerOptions.Default);
    }

    [Fact]
    public void AUtcTimeIsWrittenWithMillisecondsAndZ() =>
        Assert.Equal("\"2026-11-21T23:50:00.123Z\"", Write(new DateTime(2026, 11, 21, 23, 50, 0, 123, DateTimeKind.Utc)));

    [Theory]
    [InlineData(0, "\"2026-11-21T23:50:00.000Z\"")]
    [InlineData(5, "\"2026-11-21T23:50:00.005Z\"")]
    [InlineData(50, "\"2026-11-21T23:50:00.050Z\"")]
    [InlineData(999, "\"2026-11-21T23:50:00.999Z\"")]
    public void MillisecondsAreAlwaysWrittenWithThreeDigits(int milliseconds, string expected) =>
        Assert.Equal(expected, Write(new DateTime(2026, 11, 21, 23, 50, 0, milliseconds, DateTimeKind.Utc)));

    [Fact]
    public void ATimeWithNoMillisecondsIsWrittenWithThreeZeros() =>
        Assert.Equal("\"2026-01-02T03:04:05.000Z\"", Write(new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc)));

    [Fact]
    public void MicrosecondsAreTruncatedNotRoundedIntoTheNextSecond() =>
        Assert.Equal("\"2026-12-31T23:59:59.999Z\"", Write(new DateTime(2026, 12, 31, 23, 59, 59, 999, 900, DateTimeKind.Utc)));

    /// <summary>Meaningful wherever the machine's zone is not UTC; on a UTC machine local and UTC coincide.</summary>
    [Fact]
    public void ALocalTimeIsConvertedToUtc()
    {
        var utc = new DateTime(2026, 11, 21, 23, 50, 0, 123, DateTimeKind.Utc);
        var local = utc.ToLocalTime();
        Assert.Equal(DateTimeKind.Local, local.Kind);

        Assert.Equal("\"2026-11-21T23:50:00.123Z\"", Write(local));
    }

    [Fact]
    public void AnUnspecifiedTimeIsTakenAsUtcAsItIs() =>
        Assert.Equal("\"2026-11-21T23:50:00.123Z\"", Write(new DateTime(2026, 11, 21, 23, 50, 0, 123, DateTimeKind.Unspecified)));

    [Theory]
    [InlineData("\"2026-11-21T23:50:00.123Z\"")]
    [InlineData("\"2026-11-22T01:50:00.123+02:00\"")]
    [InlineData("\"2026-11-21T18:20:00.123-05:30\"")]
    [InlineData("\"2026-11-21T23:50:00.123+00:00\"")]
    public void AnIsoStringWithAnOffsetIsReadAsUtc(string json)
    {
        var value = Read(json);

        Assert.Equal(DateTimeKind.Utc, value.Kind);
        Assert.Equal(new DateTime(2026, 11, 21, 23, 50, 0, 123, DateTimeKind.Utc), value);
    }

    [Fact]
    public void WhatIsWrittenReadsBackAsTheSameInstant()
    {
        var value = new DateTime(2026, 2, 28, 7, 8, 9, 10, DateTimeKind.Utc);

        Assert.Equal(value, Read(Write(value)));
    }
}
