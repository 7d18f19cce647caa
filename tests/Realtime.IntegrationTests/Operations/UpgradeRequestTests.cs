using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Operations;

/// <summary>
/// A hub connection's WebSocket request lasts as long as the connection, so it goes through a
/// leaner pipeline (one middleware frame for its correlation id, its log line and its error
/// answers, instead of four). What a client and an operator see stays the same: a refused upgrade
/// answers a problem body with the request's correlation id, the connection's log lines carry that
/// id, and the request is logged once when the connection ends.
/// </summary>
public sealed class UpgradeRequestTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task AWebSocketUpgradeWithoutATokenIsRefusedWithAProblemBodyAndTheCorrelationId()
    {
        var correlationId = "upgrade-" + Guid.NewGuid().ToString("N");

        var (head, body) = await RawRequestAsync(fixture.Server.BaseAddress, $"""
            GET /hubs/notifications HTTP/1.1
            Host: 127.0.0.1
            Connection: Upgrade
            Upgrade: websocket
            Sec-WebSocket-Version: 13
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
            X-Correlation-ID: {correlationId}


            """);

        Assert.StartsWith("HTTP/1.1 401", head);
        Assert.Contains("Content-Type: application/problem+json", head, StringComparison.OrdinalIgnoreCase);
        Assert.Contains($"X-Correlation-ID: {correlationId}", head, StringComparison.OrdinalIgnoreCase);
        using var problem = JsonDocument.Parse(body);
        Assert.Equal(401, problem.RootElement.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task AHubConnectionsLinesCarryItsCorrelationIdAndItIsLoggedOnceWhenItEnds()
    {
        await using var node = await ServerProcess.StartAsync(fixture.Database.ConnectionString, extraEnvironment: new Dictionary<string, string>
        {
            // The hub's own line for a client's mistake, logged while the connection's request is served.
            ["Serilog__MinimumLevel__Override__Realtime.Server.Live.HubErrorFilter"] = "Debug",
        });
        var correlationId = "hub-" + Guid.NewGuid().ToString("N");
        var hub = await HubClient.ConnectAsync(node.BaseAddress, node.Tokens.User("upgrade-" + Guid.NewGuid().ToString("N")[..8]),
            configure: options => options.Headers["X-Correlation-ID"] = correlationId);
        await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync("Resume", -1L));
        await hub.DisposeAsync();

        await node.WithOutputOnFailureAsync(async () =>
        {
            await Eventually.WaitUntilAsync(() => Lines(node.Output.ToString(), correlationId).Any(IsRequestLine), Timeout, "the connection's request logged");
            var lines = Lines(node.Output.ToString(), correlationId);
            var request = Assert.Single(lines, IsRequestLine);
            Assert.StartsWith("HTTP GET /hubs/notifications responded 101", request.GetProperty("@m").GetString());
            Assert.Contains(lines, line => line.TryGetProperty("SourceContext", out var source) && source.GetString() == "Realtime.Server.Live.HubErrorFilter"
                                           && line.GetProperty("Method").GetString() == "Resume");
        });
    }

    private static bool IsRequestLine(JsonElement line) => line.GetProperty("@m").GetString()!.StartsWith("HTTP ", StringComparison.Ordinal);

    /// <summary>The JSON lines whose <c>CorrelationId</c> is <paramref name="correlationId"/>.</summary>
    private static List<JsonElement> Lines(string output, string correlationId) =>
        output.Split('\n')
            .Where(text => text.StartsWith('{') && text.Contains(correlationId, StringComparison.Ordinal))
            .Select(text => JsonDocument.Parse(text).RootElement)
            .Where(line => line.TryGetProperty("CorrelationId", out var id) && id.GetString() == correlationId && line.TryGetProperty("@m", out _))
            .ToList();

    /// <summary>
    /// Sends <paramref name="request"/> (lines joined with CRLF) over a plain socket, as a browser's
    /// WebSocket handshake is sent, and reads the answer's head and its body (by Content-Length, or chunked).
    /// </summary>
    private static async Task<(string Head, string Body)> RawRequestAsync(Uri baseAddress, string request)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(baseAddress.Host, baseAddress.Port, timeout.Token);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request.ReplaceLineEndings("\r\n")), timeout.Token);
        var received = new StringBuilder();
        var buffer = new byte[4096];
        while (true)
        {
            var text = received.ToString();
            if (Parse(text) is { } answer)
            {
                return answer;
            }
            var read = await stream.ReadAsync(buffer, timeout.Token);
            Assert.True(read > 0, $"The server closed the connection before answering in full: {text}");
            received.Append(Encoding.ASCII.GetString(buffer, 0, read)); // the problem body is ASCII JSON
        }
    }

    /// <summary>The head and body once all of it has arrived, else null.</summary>
    private static (string Head, string Body)? Parse(string text)
    {
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0)
        {
            return null;
        }
        var head = text[..end];
        var rest = text[(end + 4)..];
        var headers = head.Split("\r\n").Skip(1).Select(line => line.Split(':', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
        if (headers.TryGetValue("Content-Length", out var length))
        {
            var count = int.Parse(length, System.Globalization.CultureInfo.InvariantCulture);
            return rest.Length >= count ? (head, rest[..count]) : null;
        }
        if (!rest.EndsWith("0\r\n\r\n", StringComparison.Ordinal))
        {
            return null;
        }
        var body = new StringBuilder();
        while (true)
        {
            var line = rest.IndexOf("\r\n", StringComparison.Ordinal);
            var size = Convert.ToInt32(rest[..line], 16);
            if (size == 0)
            {
                return (head, body.ToString());
            }
            body.Append(rest, line + 2, size);
            rest = rest[(line + 2 + size + 2)..];
        }
    }
}
