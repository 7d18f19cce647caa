using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Realtime.IntegrationTests.Infrastructure;
using static Realtime.IntegrationTests.Infrastructure.Eventually;

namespace Realtime.IntegrationTests.Presence;

/// <summary>Reads a node's admin presence and stats endpoints, and waits (bounded, polling) for them to show something.</summary>
internal static partial class PresenceProbe
{

    /// <summary>The contract: a closed connection is gone from presence within 1 s.</summary>
    public static readonly TimeSpan CloseVisibleWithin = TimeSpan.FromSeconds(1);

    /// <summary>Long enough for anything the server does "at once" (a connection just opened being written), under load.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    public static string NewUser() => "presence-" + Guid.NewGuid().ToString("N")[..12];

    public static async Task<JsonElement> PresenceAsync(RealtimeServer server, string userId)
    {
        using var client = server.CreateApiClient(server.Tokens.Admin());
        var response = await client.GetAsync($"/api/admin/presence/{Uri.EscapeDataString(userId)}");
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public static async Task<IReadOnlyList<JsonElement>> ConnectionsAsync(RealtimeServer server, string userId) =>
        (await PresenceAsync(server, userId)).GetProperty("connections").EnumerateArray().ToList();

    public static async Task<JsonElement> StatsAsync(RealtimeServer server)
    {
        using var client = server.CreateApiClient(server.Tokens.Admin());
        var response = await client.GetAsync("/api/admin/stats");
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>Waits until presence on <paramref name="server"/> lists exactly <paramref name="count"/> connections of the user.</summary>
    public static Task<IReadOnlyList<JsonElement>> WaitForConnectionCountAsync(RealtimeServer server, string userId, int count, TimeSpan timeout) =>
        WaitUntilAsync(() => ConnectionsAsync(server, userId), c => c.Count == count, timeout, $"{count} connections of {userId}");

    /// <summary>Timestamps on the wire: UTC with milliseconds, like every other timestamp of the API.</summary>
    public static void AssertTimestamp(JsonElement value)
    {
        Assert.Equal(JsonValueKind.String, value.ValueKind);
        Assert.Matches(TimestampFormat(), value.GetString()!);
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")]
    private static partial Regex TimestampFormat();

}
