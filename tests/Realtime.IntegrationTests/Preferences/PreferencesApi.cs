using System.Net;
using System.Text;
using System.Text.Json;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Preferences;

/// <summary><c>GET</c>/<c>PUT /api/preferences</c> as a user's page calls them.</summary>
internal static class PreferencesApi
{
    public const string Path = "/api/preferences";

    public static async Task<JsonElement> GetAsync(RealtimeServer server, string userId)
    {
        using var client = server.CreateApiClient(server.Tokens.User(userId));
        return await ReadOkAsync(await client.GetAsync(Path));
    }

    /// <summary>Puts <paramref name="json"/> exactly as given.</summary>
    public static async Task<HttpResponseMessage> PutAsync(RealtimeServer server, string userId, string json)
    {
        using var client = server.CreateApiClient(server.Tokens.User(userId));
        return await client.PutAsync(Path, new StringContent(json, Encoding.UTF8, "application/json"));
    }

    public static Task<HttpResponseMessage> PutAsync(RealtimeServer server, string userId, object document) =>
        PutAsync(server, userId, JsonSerializer.Serialize(document));

    /// <summary>Saves <paramref name="document"/> and asserts 200; returns what the server stored.</summary>
    public static async Task<JsonElement> SaveAsync(RealtimeServer server, string userId, object document) =>
        await ReadOkAsync(await PutAsync(server, userId, document));

    public static async Task<JsonElement> ReadOkAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Expected 200, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
