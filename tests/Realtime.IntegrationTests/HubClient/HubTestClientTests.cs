using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.HubClient;

/// <summary>Exercises <see cref="HubTestClient"/> against a real ASP.NET Core SignalR server (and two fake ones).</summary>
public sealed class HubTestClientTests
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task HandshakeSucceedsAndInvocationReturnsTheResult()
    {
        await using var server = await TestHubServer.StartAsync();
        await using var client = await HubTestClient.ConnectAsync(server.BaseAddress, accessToken: null).WaitAsync(TestTimeout);

        var echoed = await client.InvokeAsync("Echo", "hello").WaitAsync(TestTimeout);
        var sum = await client.InvokeAsync("Add", 40, 2).WaitAsync(TestTimeout);

        Assert.Equal("hello", echoed.GetString());
        Assert.Equal(42, sum.GetInt32());
    }

    [Fact]
    public async Task InvocationOfAVoidMethodReturnsANullResult()
    {
        await using var server = await TestHubServer.StartAsync();
        await using var client = await HubTestClient.ConnectAsync(server.BaseAddress, null).WaitAsync(TestTimeout);

        var result = await client.InvokeAsync("Nothing").WaitAsync(TestTimeout);

        Assert.Equal(JsonValueKind.Null, result.ValueKind); // the server sends "result":null for void methods
    }

    [Fact]
    public async Task ArgumentsAreSerializedWithCamelCaseNames()
    {
        await using var server = await TestHubServer.StartAsync();
        await using var client = await HubTestClient.ConnectAsync(server.BaseAddress, null).WaitAsync(TestTimeout);

        var result = await client.InvokeAsync("EchoPayload", new EchoedPayload("Ann", 3)).WaitAsync(TestTimeout);

        Assert.Equal("Ann", result.GetProperty("displayName").GetString());
        Assert.Equal(3, result.GetProperty("itemCount").GetInt32());
    }

    [Fact]
    public async Task InvocationWithErrorThrowsHubInvocationException()
    {
        await using var server = await TestHubServer.StartAsync();
        await using var client = await HubTestClient.ConnectAsync(server.BaseAddress, null).WaitAsync(TestTimeout);

        var error = await Assert.ThrowsAsync<HubInvocationException>(() => client.InvokeAsync("Fail").WaitAsync(TestTimeout));

        Assert.Equal("Fail", error.Target);
        Assert.Contains("nope", error.Message, StringComparison.Ordinal);
        Assert.Equal(42, (await client.InvokeAsync("Add", 40, 2).WaitAsync(TestTimeout)).GetInt32()); // still usable
    }

    [Fact]
    public async Task ConcurrentInvocationsEachGetTheirOwnResult()
    {
        await using var server = await TestHubServer.StartAsync();
        await using var client = await HubTestClient.ConnectAsync(server.BaseAddress, null).WaitAsync(TestTimeout);

        var sums = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => Task.Run(() => client.InvokeAsync("Add", i, 1000))))
            .WaitAsync(TestTimeout);

        Assert.Equal(Enumerable.Range(1000, 100), sums.Select(s => s.GetInt32()));
    }

    [Fact]
    public async Task ManyNotificationsAreReceivedInWireOrder()
    {
        const int count = 500;
        await using var server = await TestHubServer.StartAsync();
        await using var client = await HubTestClient.ConnectAsync(server.BaseAddress, null).WaitAsync(TestTimeout);

        // The completion follows every tick on the same connection, so all ticks are in by the time it returns.
        await client.InvokeAsync("Push", count).WaitAsync(TestTimeout);

        var logged = client.Received.Select(m => m.FirstArgument.GetProperty("n").GetInt32()).ToArray();
        Assert.Equal(Enumerable.Range(1, count), logged);
        for (var expected = 1; expected <= count; expected++)
        {
            var message = await client.NextAsync("tick").WaitAsync(TestTimeout);
            Assert.Equal(expected, message.FirstArgument.GetProperty("n").GetInt32());
        }
    }

    [Fact]
    public async Task NotificationsCanBeConsumedAsAStreamWhileTheyArrive()
    {
        const int count = 200;
        await using var server = await TestHubServer.StartAsync();
        await using var client = await HubTestClient.ConnectAsync(server.BaseAddress, null).WaitAsync(TestTimeout);

        await client.SendAsync("Push", count).WaitAsync(TestTimeout);
        var previous = 0;
        for (var i = 0; i < count; i++)
        {
            var n = (await client.NextAsync("tick").WaitAsync(TestTimeout)).FirstArgument.GetProperty("n").GetInt32();
            Assert.True(n > previous, $"tick {n} arrived after tick {previous}");
            previous = n;
        }

        Assert.Equal(count, previous);
    }

    [Fact]
    public async Task SendAsyncInvokesWithoutWaitingForACompletion()
    {
        await using var server = await TestHubServer.StartAsync();
        await using var client = await HubTestClient.ConnectAsync(server.BaseAddress, null).WaitAsync(TestTimeout);

        await client.SendAsync("Notify", "ping me").WaitAsync(TestTimeout);
        var notified = await client.WaitForAsync("notified").WaitAsync(TestTimeout);

        Assert.Equal("ping me", notified.GetString());
        Assert.Empty(client.OtherMessages); // no completion for a non-blocking invocation
    }

    [Fact]
    public async Task WaitForAsyncReturnsTheFirstMatchAndLeavesEarlierNotificationsUnconsumed()
    {
        await using var server = await TestHubServer.StartAsync();
        await using var client = await HubTestClient.ConnectAsync(server.BaseAddress, null).WaitAsync(TestTimeout);

        await client.SendAsync("Push", 5).WaitAsync(TestTimeout);
        var third = await client.WaitForAsync("tick", e => e.GetProperty("n").GetInt32() == 3).WaitAsync(TestTimeout);
        var first = await client.WaitForAsync("tick").WaitAsync(TestTimeout);
        var second = await client.NextAsync("tick").WaitAsync(TestTimeout);
        var fourth = await client.NextAsync("tick").WaitAsync(TestTimeout);

        Assert.Equal(3, third.GetProperty("n").GetInt32());
        Assert.Equal(1, first.GetProperty("n").GetInt32());
        Assert.Equal(2, second.FirstArgument.GetProperty("n").GetInt32());
        Assert.Equal(4, fourth.FirstArgument.GetProperty("n").GetInt32());
    }

    [Fact]
    public async Task WaitForAsyncTimeoutNamesTheTargetAndWhatWasReceived()
    {
        await using var server = await TestHubServer.StartAsync();
        await using var client = await HubTestClient.ConnectAsync(server.BaseAddress, null).WaitAsync(TestTimeout);
        await client.InvokeAsync("Push", 2).WaitAsync(TestTimeout);

        var timeout = await Assert.ThrowsAsync<TimeoutException>(
            () => client.WaitForAsync("tick", e => e.GetProperty("n").GetInt32() == 99, TimeSpan.FromMilliseconds(200)).WaitAsync(TestTimeout));

        Assert.Contains("'tick'", timeout.Message, StringComparison.Ordinal);
        Assert.Contains("""tick({"n":2})""", timeout.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LargeResultSpanningManyReceivesIsReassembled()
    {
        await using var server = await TestHubServer.StartAsync();
        await using var client = await HubTestClient.ConnectAsync(server.BaseAddress, null).WaitAsync(TestTimeout);

        var result = await client.InvokeAsync("Repeat", 'x', 200_000).WaitAsync(TestTimeout);

        Assert.Equal(new string('x', 200_000), result.GetString());
    }

    [Fact]
    public async Task FramingSurvivesCoalescedAndSplitMessagesAndRecordsUnknownTypes()
    {
        await using var server = await TestHubServer.StartAsync();
        await using var client = await HubTestClient.ConnectAsync(server.BaseAddress, null, TestHubServer.RawScriptedPath).WaitAsync(TestTimeout);

        var closed = await client.Closed.WaitAsync(TestTimeout);

        Assert.Equal([1, 2, 3], client.Received.Select(m => m.FirstArgument.GetProperty("n").GetInt32()));
        Assert.All(client.Received, m => Assert.Equal("tick", m.Target));
        var other = Assert.Single(client.OtherMessages);
        Assert.Equal(2, other.GetProperty("type").GetInt32());
        Assert.True(closed.CloseMessageReceived);
        Assert.Equal("bye", closed.Error);
        Assert.True(closed.AllowReconnect);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, closed.WebSocketCloseStatus);
        Assert.Equal("done", closed.WebSocketCloseDescription);
        Assert.Null(closed.TransportError);
    }

    [Fact]
    public async Task HandshakeErrorThrowsHubHandshakeException()
    {
        await using var server = await TestHubServer.StartAsync();

        var error = await Assert.ThrowsAsync<HubHandshakeException>(
            () => HubTestClient.ConnectAsync(server.BaseAddress, null, TestHubServer.RawHandshakeErrorPath).WaitAsync(TestTimeout));

        Assert.Contains("Requested protocol 'json' is not available.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerAbortInOnConnectedCompletesClosed()
    {
        await using var server = await TestHubServer.StartAsync();
        await using var client = await HubTestClient.ConnectAsync(server.BaseAddress, null, TestHubServer.HubPath + "?reject=1").WaitAsync(TestTimeout);

        var closed = await client.Closed.WaitAsync(TestTimeout);

        // Context.Abort() reads as a plain close message (no error) followed by a normal WebSocket close.
        Assert.True(closed.CloseMessageReceived);
        Assert.Null(closed.Error);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, closed.WebSocketCloseStatus);
        await Assert.ThrowsAsync<HubConnectionClosedException>(() => client.InvokeAsync("Echo", "late").WaitAsync(TestTimeout));
        await Assert.ThrowsAsync<HubConnectionClosedException>(() => client.WaitForAsync("tick").WaitAsync(TestTimeout));
    }

    [Fact]
    public async Task PendingInvocationFailsWhenTheServerAbortsTheConnection()
    {
        await using var server = await TestHubServer.StartAsync();
        await using var client = await HubTestClient.ConnectAsync(server.BaseAddress, null).WaitAsync(TestTimeout);

        var error = await Assert.ThrowsAsync<HubConnectionClosedException>(() => client.InvokeAsync("AbortAndHang").WaitAsync(TestTimeout));

        Assert.Contains("AbortAndHang", error.Message, StringComparison.Ordinal);
        Assert.True(client.Closed.IsCompleted);
    }

    [Fact]
    public async Task ServerShutdownCompletesClosedAndFailsWaits()
    {
        var server = await TestHubServer.StartAsync();
        await using var client = await HubTestClient.ConnectAsync(server.BaseAddress, null).WaitAsync(TestTimeout);
        var waiting = client.WaitForAsync("tick", timeout: TestTimeout);

        await server.DisposeAsync().AsTask().WaitAsync(TestTimeout);
        await client.Closed.WaitAsync(TestTimeout);

        await Assert.ThrowsAsync<HubConnectionClosedException>(() => waiting.WaitAsync(TestTimeout));
    }

    [Fact]
    public async Task CloseAsyncCompletesTheWebSocketCloseHandshake()
    {
        await using var server = await TestHubServer.StartAsync();
        var client = await HubTestClient.ConnectAsync(server.BaseAddress, null).WaitAsync(TestTimeout);

        await client.CloseAsync().WaitAsync(TestTimeout);
        var closed = await client.Closed.WaitAsync(TestTimeout);
        await client.DisposeAsync().AsTask().WaitAsync(TestTimeout);

        Assert.Equal(WebSocketCloseStatus.NormalClosure, closed.WebSocketCloseStatus);
        Assert.Null(closed.TransportError);
        Assert.Null(closed.Error);
    }

    [Fact]
    public async Task UpgradeWithoutAValidAccessTokenFailsWithHttp401()
    {
        await using var server = await TestHubServer.StartAsync(requiredAccessToken: "good");

        var missing = await Assert.ThrowsAsync<HubUpgradeRejectedException>(
            () => HubTestClient.ConnectAsync(server.BaseAddress, null).WaitAsync(TestTimeout));
        var wrong = await Assert.ThrowsAsync<HubUpgradeRejectedException>(
            () => HubTestClient.ConnectAsync(server.BaseAddress, "bad").WaitAsync(TestTimeout));
        await using var accepted = await HubTestClient.ConnectAsync(server.BaseAddress, "good").WaitAsync(TestTimeout);

        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.IsType<WebSocketException>(wrong.InnerException);
        Assert.Equal("ok", (await accepted.InvokeAsync("Echo", "ok").WaitAsync(TestTimeout)).GetString());
    }

    [Fact]
    public async Task AccessTokenIsUrlEncodedIntoTheQuery()
    {
        const string token = "a b&c=d/e+f?g#h";
        await using var server = await TestHubServer.StartAsync(requiredAccessToken: token);

        await using var client = await HubTestClient.ConnectAsync(server.BaseAddress, token).WaitAsync(TestTimeout);

        Assert.Equal(3, (await client.InvokeAsync("Add", 1, 2).WaitAsync(TestTimeout)).GetInt32());
    }

    [Fact]
    public async Task ServerDropsAClientThatStopsPinging()
    {
        await using var server = await TestHubServer.StartAsync(o => o.ClientTimeoutInterval = TimeSpan.FromSeconds(1));
        await using var client = await HubTestClient.ConnectAsync(server.BaseAddress, null).WaitAsync(TestTimeout);

        client.KeepAliveInterval = Timeout.InfiniteTimeSpan; // the ping sent after the handshake armed the server's timeout
        var closed = await client.Closed.WaitAsync(TestTimeout);

        Assert.True(closed.CloseMessageReceived);
        Assert.NotNull(closed.Error);
        Assert.True(closed.AllowReconnect);
    }

    [Fact]
    public async Task KeepAlivePingsKeepAnIdleConnectionOpen()
    {
        // Generous margins (timeout = 20 pings) so that a loaded machine delaying a few pings does not matter.
        var clientTimeout = TimeSpan.FromSeconds(2);
        await using var server = await TestHubServer.StartAsync(o => o.ClientTimeoutInterval = clientTimeout);
        await using var client = await HubTestClient.ConnectAsync(server.BaseAddress, null).WaitAsync(TestTimeout);
        client.KeepAliveInterval = TimeSpan.FromMilliseconds(100);

        // Idle for well over the server's client timeout: only the pings speak for the client meanwhile.
        if (await Task.WhenAny(client.Closed, Task.Delay(2.5 * clientTimeout)) == client.Closed)
        {
            Assert.Fail($"The server dropped the pinging client: {await client.Closed}");
        }

        Assert.Equal("alive", (await client.InvokeAsync("Echo", "alive").WaitAsync(TestTimeout)).GetString());
    }
}
