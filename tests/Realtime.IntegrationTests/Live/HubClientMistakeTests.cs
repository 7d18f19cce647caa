using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Logging;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;

namespace Realtime.IntegrationTests.Live;

/// <summary>
/// A client's mistake in a hub call (someone else's notification id, a negative cursor) is a
/// HubException to that client, and at most a Debug line: a user must not be able to write
/// Error lines with stack traces into the server's log.
/// </summary>
public sealed class HubClientMistakeTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task MistakesAreHubExceptionsToTheCallerAndLeaveNoWarningOrErrorInTheLog()
    {
        var server = fixture.Server;
        var mallory = SendApi.NewUserId("mallory");
        var othersId = await server.SendAsync(SendApi.NewUserId("alice"), "not mallory's");
        await using var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(server.BaseAddress, "/hubs/notifications"), options =>
                options.AccessTokenProvider = () => Task.FromResult<string?>(server.Tokens.User(mallory)))
            .Build();
        await connection.StartAsync().WaitAsync(Timeout);
        var before = server.Logs.AtLeast(LogLevel.Warning).Count;

        var markRead = await Assert.ThrowsAsync<HubException>(() => connection.InvokeAsync("MarkRead", othersId).WaitAsync(Timeout));
        await Assert.ThrowsAsync<HubException>(() => connection.InvokeAsync("MarkUnread", othersId).WaitAsync(Timeout));
        await Assert.ThrowsAsync<HubException>(() => connection.InvokeAsync("MarkRead", -5L).WaitAsync(Timeout));
        var resume = await Assert.ThrowsAsync<HubException>(() => connection.InvokeAsync<int>("Resume", -1L).WaitAsync(Timeout));

        Assert.Contains("not found", markRead.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("afterId", resume.Message, StringComparison.Ordinal);
        Assert.Equal(0, await connection.InvokeAsync<int>("Resume", othersId).WaitAsync(Timeout)); // still usable
        var logged = server.Logs.AtLeast(LogLevel.Warning).Skip(before).ToList();
        Assert.True(logged.Count == 0, string.Join("\n", logged.Select(l => $"{l.Level} {l.Category}: {l.Message} {l.Exception}")));
    }
}
