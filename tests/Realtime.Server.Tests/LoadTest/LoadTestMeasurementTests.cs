using System.Text;
using System.Text.Json;
using Realtime.LoadTest;
using Realtime.LoadTest.Clients;
using Realtime.LoadTest.Measurement;

namespace Realtime.Server.Tests.LoadTest;

/// <summary>The load test's own arithmetic: percentiles, message scanning, token claims, the ledger.</summary>
public sealed class LoadTestMeasurementTests
{
    [Fact]
    public void HistogramPercentilesAreWithinTwoPercentOfTheExactValues()
    {
        var histogram = new LatencyHistogram();
        for (var ms = 1; ms <= 10_000; ms++)
        {
            histogram.Record(TimeSpan.FromMilliseconds(ms));
        }

        Assert.InRange(histogram.PercentileMs(50), 4_900, 5_100);
        Assert.InRange(histogram.PercentileMs(99), 9_800, 10_000);
        Assert.Equal(10_000, histogram.MaxMs);
        Assert.InRange(histogram.PercentileMs(0.01), 0.98, 1.02);
    }

    [Fact]
    public void ScannerReadsIdSeqAndSentAtOfAHubRecord()
    {
        var record = """{"type":1,"target":"notification","arguments":[{"id":1234,"userId":"u","data":{"seq":-2,"sentAt":987654321},"title":"t"}]}"""u8;

        NotificationScanner.Scan(record, out var id, out var seq, out var sentAt);

        Assert.Equal(1234, id);
        Assert.Equal(-2, seq);
        Assert.Equal(987654321, sentAt);
        Assert.Equal(-1, NotificationScanner.Number(record, "\"absent\":"u8));
    }

    [Fact]
    public void TokensCarryTheClaimsOfMintTokenScript()
    {
        var token = new TokenMinter("k-0123456789abcdef0123456789abcdef", "iss-x", "aud-y").Mint("alice", "notifications:send", "admin");

        var parts = token.Split('.');
        Assert.Equal(3, parts.Length);
        var payload = JsonDocument.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(Pad(parts[1])))).RootElement;
        Assert.Equal("alice", payload.GetProperty("sub").GetString());
        Assert.Equal("iss-x", payload.GetProperty("iss").GetString());
        Assert.Equal("aud-y", payload.GetProperty("aud").GetString());
        Assert.Equal("notifications:send", payload.GetProperty("scope").GetString());
        Assert.Equal("admin", payload.GetProperty("role").GetString());
        Assert.True(payload.GetProperty("exp").GetInt64() > payload.GetProperty("nbf").GetInt64());
    }

    [Fact]
    public void LedgerCountsMissingAndDuplicatedDeliveriesPerMessage()
    {
        var ledger = new DeliveryLedger(10);
        var a = ledger.NextSeq();
        var b = ledger.NextSeq();
        var c = ledger.NextSeq();
        ledger.Acknowledge(a, 3);
        ledger.Acknowledge(b, 1);
        ledger.Expect(c, 1); // sent, answer lost: not counted as missing, but its duplicates are

        ledger.RecordDelivery(a, 0);
        ledger.RecordDelivery(a, 0);
        ledger.RecordDelivery(b, 0);
        ledger.RecordDelivery(b, 0);
        ledger.RecordDelivery(c, 0);
        ledger.RecordDelivery(DeliveryLedger.WarmupSeq, 0);

        Assert.Equal(1, ledger.Missing());
        Assert.Equal(1, ledger.Duplicated());
        Assert.Equal(5, ledger.Delivered);
        Assert.Equal(1, ledger.WarmupDelivered);
    }

    [Fact]
    public void TargetsParseNameUrlSendUrlAndPid()
    {
        var options = LoadTestOptions.Parse(["fanout", "--target", "a=http://127.0.0.1:5000,send=http://127.0.0.1:5002,pid=42", "--command", "a=dotnet x.dll", "-n", "7"]);

        var target = Assert.Single(options.Targets);
        Assert.Equal("a", target.Name);
        Assert.Equal(new Uri("http://127.0.0.1:5002"), target.SendUrl);
        Assert.Equal(42, target.Pid);
        Assert.Equal("dotnet x.dll", target.Command);
        Assert.Equal(7, options.Connections);
        Assert.Throws<ArgumentException>(() => LoadTestOptions.Parse(["fanout", "--bogus"]));
    }

    private static string Pad(string base64Url)
    {
        var s = base64Url.Replace('-', '+').Replace('_', '/');
        return s + new string('=', (4 - s.Length % 4) % 4);
    }
}
