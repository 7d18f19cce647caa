using Dapper;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Live;

/// <summary>
/// The core promise: with many concurrent senders, a reader that follows a cursor (in PostgreSQL,
/// or through the hub, reconnecting all the time) ends with exactly the ids the senders got, each
/// once, in increasing order on every connection.
/// </summary>
public sealed class NoGapNoDuplicateTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const int Senders = 6;
    private const int SendsPerSender = 40;
    private static readonly TimeSpan ReconnectEvery = TimeSpan.FromMilliseconds(40);
    private static readonly TimeSpan SendingTimeout = TimeSpan.FromSeconds(60);

    private RealtimeServer Server => fixture.Server;

    /// <summary>Concurrent senders to one user through this class's node (see <see cref="ScaleOutTraffic.SendConcurrentlyAsync"/>).</summary>
    private Task<List<long>> SendConcurrentlyAsync(string userId, Func<int, Task>? beforeSend = null) =>
        ScaleOutTraffic.SendConcurrentlyAsync(userId, [Server.BaseAddress], Senders, SendsPerSender, beforeSend);

    [Fact]
    public async Task ACursorReaderInPostgresNeverSkipsAnIdWhileTwoNodesCommitConcurrently()
    {
        var user = "cursor-" + Guid.NewGuid().ToString("N")[..8];
        await using var secondNode = await RealtimeServer.StartAsync(fixture.Database.ConnectionString);
        await using var connection = await fixture.Database.OpenAsync();
        var seen = new List<long>();
        long cursor = 0;
        var sending = ScaleOutTraffic.SendConcurrentlyAsync(user, [Server.BaseAddress, secondNode.BaseAddress], Senders, SendsPerSender);

        // Reads as fast as it can (every millisecond) until the senders are done.
        await Eventually.WaitUntilAsync(
            async () =>
            {
                var done = sending.IsCompleted;
                var page = (await connection.QueryAsync<long>(
                    "SELECT id FROM notifications WHERE user_id = @user AND id > @cursor ORDER BY id", new { user, cursor })).AsList();
                seen.AddRange(page);
                if (page.Count > 0)
                {
                    cursor = page[^1];
                }
                return done;
            },
            done => done, SendingTimeout, "done sending", _ => $"{seen.Count} ids read", TimeSpan.FromMilliseconds(1));
        var sent = await sending;
        seen.AddRange(await connection.QueryAsync<long>(
            "SELECT id FROM notifications WHERE user_id = @user AND id > @cursor ORDER BY id", new { user, cursor }));

        Assert.Equal(Senders * SendsPerSender, sent.Count);
        Assert.Equal(sent, seen);
    }

    /// <summary>The hub reader resumes with Resume, the SSE reader with Last-Event-ID.</summary>
    [Theory]
    [InlineData("hub")]
    [InlineData("SSE")]
    public async Task AReaderReconnectingEvery40MillisecondsGetsEveryIdOnceInIncreasingOrder(string transport)
    {
        var user = $"{transport}-reconnecting-" + Guid.NewGuid().ToString("N")[..8];
        var outcome = await ReconnectingReader.ReadWhileSendingAsync(user, pace => SendConcurrentlyAsync(user, pace), ReconnectEvery,
            ReconnectingReader.Over(transport, _ => Server, Server.Tokens.User(user)));

        Assert.True(outcome.Connections > 3, $"only {outcome.Connections} connections: the test did not exercise reconnecting");
        Assert.Equal(outcome.Sent, outcome.Received);
    }

    [Fact]
    public async Task ALiveReaderThatNeverReconnectsGetsEveryIdOnceInIncreasingOrder()
    {
        var user = "steady-" + Guid.NewGuid().ToString("N")[..8];
        await using var hub = await Server.ConnectHubAsync(Server.Tokens.User(user));
        await hub.InvokeAsync("Resume", 0);

        var sent = await SendConcurrentlyAsync(user);

        var received = new List<long>();
        while (received.Count < sent.Count)
        {
            received.Add((await hub.NextAsync("notification")).Argument.GetProperty("id").GetInt64());
        }
        Assert.Equal(sent, received);
    }
}
