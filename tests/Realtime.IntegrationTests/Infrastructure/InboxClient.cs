using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>A user's view of the inbox REST API, answering parsed JSON.</summary>
public sealed class InboxClient(RealtimeServer server, string userId) : IDisposable
{
    private readonly HttpClient _http = server.CreateApiClient(server.Tokens.User(userId));

    public string UserId => userId;

    public async Task<JsonElement> ListAsync(string query = "")
    {
        var response = await _http.GetAsync("/api/notifications" + query);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public async Task<List<long>> ListIdsAsync(string query = "") =>
        (await ListAsync(query)).GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetInt64()).ToList();

    public async Task<int> UnreadCountAsync()
    {
        var response = await _http.GetAsync("/api/notifications/unread-count");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("unreadCount").GetInt32();
    }

    public Task<HttpResponseMessage> GetAsync(string pathAndQuery) => _http.GetAsync(pathAndQuery);

    public Task<HttpResponseMessage> PostAsync(string path) => _http.PostAsync(path, null);

    public Task<HttpResponseMessage> MarkReadAsync(long id) => _http.PostAsync($"/api/notifications/{id}/read", null);

    public Task<HttpResponseMessage> MarkUnreadAsync(long id) => _http.PostAsync($"/api/notifications/{id}/unread", null);

    public Task<HttpResponseMessage> ReadAllAsync(long? upTo = null) => upTo is null
        ? _http.PostAsync("/api/notifications/read-all", null)
        : _http.PostAsJsonAsync("/api/notifications/read-all", new { upTo });

    public Task<HttpResponseMessage> DeleteAsync(long id) => _http.DeleteAsync($"/api/notifications/{id}");

    public void Dispose() => _http.Dispose();
}
