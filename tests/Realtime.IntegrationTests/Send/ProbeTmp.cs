using Realtime.IntegrationTests.Infrastructure;
namespace Realtime.IntegrationTests.Send;
public sealed class ProbeTmp(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Probe()
    {
        using var c = fixture.Server.CreateApiClient(fixture.Server.Tokens.Service());
        var t200 = new string('t', 200);
        var cases = new[]
        {
            """{"userId":"u","title":"\ud800"}""",
            """{"userId":"u","title":"x","body":"\udc00"}""",
            """{"userId":"u","title":"x","data":{"\ud800":1}}""",
            """{"userId":"\ud800","title":"x"}""",
            """{"userId":"u","title":"x","ttlSeconds":99999999999999999999}""",
            """{"userId":"u","title":"x","ttlSeconds":1.5}""",
            """{"userId":"u","title":"x","ttlSeconds":"5"}""",
            """{"userIds":[null],"title":"x"}""",
            """{"userIds":[""],"title":"x"}""",
            """{"userId":"","title":"x"}""",
            """{"userId":"u","title":"x","data":"s"}""",
            """{"userId":"u","title":"x","data":null}""",
            """{"userId":"u","title":"x","category":""}""",
            """{"userId":"u","title":"x","idempotencyKey":""}""",
            """{"userId":"u","title":"x","link":"http://"}""",
            """{"userId":"u","title":"x","link":"https://a.example/\u0000"}""",
            """{"userId":"u","title":"x","link":"/relative"}""",
            """{"userId":"u","title":"x","priority":""}""",
            """{"userId":"u","title":"x","priority":5}""",
            """{"userId":"u","title":"x","Title":"y"}""",
            """{"userId":"u","title":"x","unknown":1}""",
            """{"userId":"u","title":"x","data":{"n":1e400}}""",
            """{"userId":"u","title":"x","data":{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":{"k":{"l":{"m":{"n":{"o":{"p":{"q":{"r":{"s":{"t":{"u":{"v":{"w":{"x":{"y":{"z":{"aa":{"bb":{"cc":{"dd":{"ee":{"ff":{"gg":{"hh":1}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}""",
            "{\"userId\":\"u\",\"title\":\"" + t200 + "\"}",
            "{\"userId\":\"u\",\"title\":\"x\",\"ttlSeconds\":31536000}",
            "{\"userId\":\"u\",\"title\":\"" + string.Concat(Enumerable.Repeat("😀", 101)) + "\"}",
            "{\"userId\":\"u\",\"title\":\"x\",\"link\":\"https://a.example/" + new string('p', 3000) + "\"}",
            """{"userId":"u","title":"x"} trailing""",
            """{"userId":"u","title":"x","userId":"v"}""",
            """{"userId":"u","title":"x","data":{"a":1,"a":2}}""",
            "\uFEFF{\"userId\":\"u\",\"title\":\"x\"}",
        };
        foreach (var json in cases)
        {
            var r = await SendApi.PostAsync(c, json);
            Console.WriteLine($"PROBE {(int)r.StatusCode} {r.Content.Headers.ContentType} {json[..Math.Min(70, json.Length)]} => {(await r.Content.ReadAsStringAsync())[..Math.Min(300, (int)(r.Content.Headers.ContentLength ?? 300))]}");
        }
        // wrong content type
        var r2 = await c.PostAsync(SendApi.Path, new StringContent("""{"userId":"u","title":"x"}""", System.Text.Encoding.UTF8, "text/plain"));
        Console.WriteLine($"PROBE text/plain {(int)r2.StatusCode} {await r2.Content.ReadAsStringAsync()}");
        var r3 = await c.PostAsync(SendApi.Path, null);
        Console.WriteLine($"PROBE no content {(int)r3.StatusCode} {await r3.Content.ReadAsStringAsync()}");
        var r4 = await c.PostAsync(SendApi.Path, new ByteArrayContent(new byte[] { 0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d }));
        Console.WriteLine($"PROBE invalid utf8 {(int)r4.StatusCode} {await r4.Content.ReadAsStringAsync()}");
    }
}
