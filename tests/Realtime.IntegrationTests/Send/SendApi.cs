using System.Net;
using System.Text;
using System.Text.Json;
using Dapper;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Send;

/// <summary>The send endpoint as a backend service calls it, and the inbox its recipients read back.</summary>
internal static class SendApi
{
    public const string Path = "/api/notifications";

    /// <summary>A recipient no other test uses (test classes share a database).</summary>
    public static string NewUserId(string prefix = "user") => $"{prefix}-{Guid.NewGuid():N}";

    /// <summary>Posts <paramref name="json"/> exactly as given, so a test can send what no serializer would.</summary>
    public static Task<HttpResponseMessage> PostAsync(HttpClient client, string json) =>
        client.PostAsync(Path, new StringContent(json, Encoding.UTF8, "application/json"));

    public static Task<HttpResponseMessage> PostAsync(HttpClient client, object body) =>
        PostAsync(client, JsonSerializer.Serialize(body));

    /// <summary>Asserts <paramref name="expected"/> and the exact shape <c>{ "notifications": [ { "id", "userId" } ], "suppressed": [...] }</c>.</summary>
    public static async Task<IReadOnlyList<Sent>> ReadSentAsync(HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.Created)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected,
            $"Expected {(int)expected} {expected}, got {(int)response.StatusCode} {response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(text);
        Assert.Equal(new[] { "notifications", "suppressed" }, document.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(JsonValueKind.Array, document.RootElement.GetProperty("suppressed").ValueKind);
        var sent = new List<Sent>();
        foreach (var item in document.RootElement.GetProperty("notifications").EnumerateArray())
        {
            Assert.Equal(new[] { "id", "userId" }, item.EnumerateObject().Select(p => p.Name));
            var id = item.GetProperty("id").GetInt64();
            Assert.True(id > 0, $"Ids are positive: {item}");
            sent.Add(new Sent(id, item.GetProperty("userId").GetString()!));
        }
        return sent;
    }

    /// <summary>The recipient's inbox (newest first), read with their own token.</summary>
    public static async Task<IReadOnlyList<JsonElement>> InboxAsync(RealtimeServer server, string userId)
    {
        using var client = server.CreateApiClient(server.Tokens.User(userId));
        var response = await client.GetAsync($"{Path}?limit=200");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Reading the inbox answered {(int)response.StatusCode}: {text}");
        using var document = JsonDocument.Parse(text);
        return document.RootElement.GetProperty("items").EnumerateArray().Select(item => item.Clone()).ToList();
    }

    /// <summary>How many notifications the database holds for <paramref name="userId"/>, read past the server.</summary>
    public static async Task<long> StoredCountAsync(TestDatabase database, string userId)
    {
        await using var connection = await database.OpenAsync();
        return await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM notifications WHERE user_id = @userId", new { userId });
    }

    public sealed record Sent(long Id, string UserId);
}
