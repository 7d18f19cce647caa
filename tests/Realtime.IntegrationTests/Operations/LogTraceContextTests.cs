using System.Net;
using System.Text.Json;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Operations;

/// <summary>
/// A request's log lines (JSON, as a node writes them when its output is not a terminal) carry the
/// trace (<c>@tr</c>) and span (<c>@sp</c>) ids of the request's span and its <c>CorrelationId</c>,
/// so a log line leads to its trace and back; they do even with tracing off.
/// </summary>
public sealed class LogTraceContextTests
{
    private static readonly TimeSpan LogTimeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task ARequestLogLineCarriesTheTraceIdTheSpanIdAndTheCorrelationIdOfTheRequest()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using var node = await ServerProcess.StartAsync(database.ConnectionString);
        using var client = node.CreateApiClient(node.Tokens.User("log-trace-" + Guid.NewGuid().ToString("N")[..8]));
        var traceId = Guid.NewGuid().ToString("N"); // 32 hex digits, as a W3C trace id
        var correlationId = "log-trace-" + Guid.NewGuid().ToString("N");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/notifications/unread-count");
        request.Headers.Add("traceparent", $"00-{traceId}-{Guid.NewGuid().ToString("N")[..16]}-01");
        request.Headers.Add("X-Correlation-ID", correlationId);

        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        await node.WithOutputOnFailureAsync(async () =>
        {
            JsonElement? line = null;
            await Eventually.WaitUntilAsync(() => (line = RequestLine(node.Output.ToString(), correlationId)) is not null, LogTimeout, "the request logged");
            var logged = line!.Value;
            Assert.Contains("HTTP GET /api/notifications/unread-count responded 200", logged.GetProperty("@m").GetString());
            Assert.Equal(traceId, logged.GetProperty("@tr").GetString());
            Assert.Matches("^[0-9a-f]{16}$", logged.GetProperty("@sp").GetString());
            Assert.Equal(correlationId, logged.GetProperty("CorrelationId").GetString());
        });
    }

    private static JsonElement? RequestLine(string output, string correlationId)
    {
        foreach (var text in output.Split('\n'))
        {
            if (!text.StartsWith('{') || !text.Contains(correlationId, StringComparison.Ordinal))
            {
                continue;
            }
            var line = JsonDocument.Parse(text).RootElement;
            if (line.TryGetProperty("@m", out var message) && message.GetString()!.StartsWith("HTTP ", StringComparison.Ordinal))
            {
                return line;
            }
        }
        return null;
    }
}
