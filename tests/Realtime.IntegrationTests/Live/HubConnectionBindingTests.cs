using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Logging;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;

namespace Realtime.IntegrationTests.Live;

/// <summary>
/// With long polling and SignalR's SSE transport every request on a connection carries its token
/// in <c>?id=</c>. Another user who learns it (a proxy log, a shared screen) and holds any valid
/// JWT of their own must not read the victim's stream nor invoke hub methods as the victim: 404,
/// and a Warning in the log. The victim (the official .NET SignalR client) is not disturbed.
/// </summary>
public sealed class HubConnectionBindingTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private const char RecordSeparator = '\u001e';

    private RealtimeServer Server => fixture.Server;

    [Theory]
    [InlineData(HttpTransportType.LongPolling)]
    [InlineData(HttpTransportType.ServerSentEvents)]
    public async Task AnotherUserWithTheConnectionTokenCanNeitherReadTheStreamNorInvokeMethods(HttpTransportType transport)
    {
        var victim = SendApi.NewUserId("victim");
        var attacker = SendApi.NewUserId("attacker");
        await Server.SendAsync(victim, "private, before");
        var tokens = new ConcurrentQueue<string>();
        var received = new ConcurrentQueue<JsonElement>();
        var secondArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        await using var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(Server.BaseAddress, "/hubs/notifications"), transport, options =>
            {
                options.AccessTokenProvider = () => Task.FromResult<string?>(Server.Tokens.User(victim));
                options.HttpMessageHandlerFactory = inner => new TokenRecorder(inner, tokens);
            })
            .Build();
        connection.On<JsonElement>("notification", notification =>
        {
            received.Enqueue(notification);
            if (notification.GetProperty("title").GetString() == "private, after")
            {
                secondArrived.TrySetResult();
            }
        });
        await connection.StartAsync().WaitAsync(Timeout);
        await connection.InvokeAsync<int>("Resume", 0L).WaitAsync(Timeout);
        var connectionToken = Assert.Single(tokens.Distinct());

        using var thief = Server.CreateApiClient(Server.Tokens.User(attacker));
        var path = $"/hubs/notifications?id={Uri.EscapeDataString(connectionToken)}";

        // Invoking a method as the victim.
        var invoke = await thief.PostAsync(path, new StringContent("""{"type":1,"target":"MarkAllRead","arguments":[]}""" + RecordSeparator, Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.NotFound, invoke.StatusCode);

        // Reading the victim's stream: a poll (long polling), or a stream of its own (SSE transport).
        using var read = new HttpRequestMessage(HttpMethod.Get, path);
        if (transport == HttpTransportType.ServerSentEvents)
        {
            read.Headers.Accept.ParseAdd("text/event-stream");
        }
        using var readAnswer = await thief.SendAsync(read, HttpCompletionOption.ResponseHeadersRead).WaitAsync(Timeout);
        Assert.Equal(HttpStatusCode.NotFound, readAnswer.StatusCode);

        // Closing the victim's connection.
        var close = await thief.DeleteAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, close.StatusCode);

        // The victim's inbox is untouched and the victim's connection still delivers.
        using var victimApi = Server.CreateApiClient(Server.Tokens.User(victim));
        var unread = await victimApi.GetFromJsonAsync<JsonElement>("/api/notifications/unread-count");
        Assert.Equal(1, unread.GetProperty("unreadCount").GetInt32());
        await Server.SendAsync(victim, "private, after");
        await secondArrived.Task.WaitAsync(Timeout);
        Assert.Equal(HubConnectionState.Connected, connection.State);

        var warnings = Server.Logs.AtLeast(LogLevel.Warning).Where(e => e.Message.Contains(attacker, StringComparison.Ordinal)).ToList();
        Assert.Equal(3, warnings.Count);
        Assert.All(warnings, w => Assert.Equal(LogLevel.Warning, w.Level));
        Assert.All(warnings, w => Assert.DoesNotContain(connectionToken, w.Message));
    }

    [Fact]
    public async Task TheOwnerKeepsUsingItsConnectionTokenAfterOthersWereRefused()
    {
        var owner = SendApi.NewUserId("owner");
        var tokens = new ConcurrentQueue<string>();
        await using var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(Server.BaseAddress, "/hubs/notifications"), HttpTransportType.LongPolling, options =>
            {
                options.AccessTokenProvider = () => Task.FromResult<string?>(Server.Tokens.User(owner));
                options.HttpMessageHandlerFactory = inner => new TokenRecorder(inner, tokens);
            })
            .Build();
        await connection.StartAsync().WaitAsync(Timeout);
        using var thief = Server.CreateApiClient(Server.Tokens.User(SendApi.NewUserId("thief")));
        var refused = await thief.DeleteAsync($"/hubs/notifications?id={Uri.EscapeDataString(tokens.First())}");
        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);

        var id = await Server.SendAsync(owner, "still mine");

        Assert.Equal(1, await connection.InvokeAsync<int>("Resume", id - 1).WaitAsync(Timeout));
    }

    /// <summary>Records the connection token (<c>?id=</c>) of every request the client makes.</summary>
    private sealed class TokenRecorder(HttpMessageHandler inner, ConcurrentQueue<string> tokens) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var query = System.Web.HttpUtility.ParseQueryString(request.RequestUri?.Query ?? "");
            if (query["id"] is { Length: > 0 } token)
            {
                tokens.Enqueue(token);
            }
            return base.SendAsync(request, cancellationToken);
        }
    }
}
