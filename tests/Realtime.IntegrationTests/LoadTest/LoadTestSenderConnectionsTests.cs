using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.LoadTest;
using Realtime.LoadTest.Sending;

namespace Realtime.IntegrationTests.LoadTest;

/// <summary>
/// The load test's sender opens no more connections to a node than it is given: in the storm the
/// node holds every client up to its descriptor limit, and each connection the sender takes is
/// one fewer for them.
/// </summary>
public sealed class LoadTestSenderConnectionsTests
{
    private const int Cap = 8;
    private const int Sends = 64;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ManySendsWaitingAtOnceShareTheSendersCappedConnections()
    {
        var connections = new ConcurrentDictionary<string, bool>();
        var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        // Answers nothing until Cap connections are open, so every send is waiting while the pool grows.
        app.MapPost("/api/notifications", async (HttpContext context) =>
        {
            connections.TryAdd(context.Connection.Id, true);
            if (connections.Count >= Cap)
            {
                enough.TrySetResult();
            }
            await enough.Task.WaitAsync(Timeout);
            return Results.Json(new { id = 1 }, statusCode: StatusCodes.Status201Created);
        });
        using var start = new CancellationTokenSource(Timeout);
        await app.StartAsync(start.Token);

        using var sender = new ApiSender(new Uri(app.Urls.Single()), new TokenMinter(TestTokens.DefaultSigningKey, TestTokens.DefaultIssuer, TestTokens.DefaultAudience), Cap);
        var sent = await Task.WhenAll(Enumerable.Range(0, Sends).Select(seq => sender.SendAsync("user-" + seq, seq, start.Token))).WaitAsync(Timeout);

        Assert.All(sent, Assert.True);
        Assert.Equal(Cap, connections.Count);
        await app.StopAsync(start.Token);
    }
}
