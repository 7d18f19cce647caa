using System.Net.Http.Headers;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Presence;

/// <summary>
/// Minimal clients that send a User-Agent (the shared test clients send none): a hub connection
/// (the official client over WebSockets) and an SSE stream (headers only). Disposing either closes it.
/// </summary>
internal sealed class UserAgentConnection : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly IAsyncDisposable _resource;

    private UserAgentConnection(IAsyncDisposable resource) => _resource = resource;

    public static async Task<UserAgentConnection> OpenHubAsync(RealtimeServer server, string token, string userAgent) =>
        new(await HubClient.ConnectAsync(server.BaseAddress, token, configure: options => options.Headers["User-Agent"] = userAgent));

    public static async Task<UserAgentConnection> OpenSseAsync(RealtimeServer server, string token, string userAgent)
    {
        var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/notifications/stream");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        using var timeout = new CancellationTokenSource(Timeout);
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        response.EnsureSuccessStatusCode();
        return new UserAgentConnection(new Stream(http, response));
    }

    public ValueTask DisposeAsync() => _resource.DisposeAsync();

    private sealed class Stream(HttpClient http, HttpResponseMessage response) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            response.Dispose();
            http.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
