using System.Net;
using System.Text.Json;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Live;

/// <summary>A node whose SSE keep-alive is fast enough to observe in a test.</summary>
public sealed class FastKeepAliveFixture : ServerFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Live:SseKeepAliveInterval"] = "00:00:00.200" };
}

public sealed class SseTests(FastKeepAliveFixture fixture) : IClassFixture<FastKeepAliveFixture>
{
    private RealtimeServer Server => fixture.Server;

    private static string NewUser() => "sse-" + Guid.NewGuid().ToString("N")[..12];

    private Task<SseTestClient> ConnectAsync(string userId, string? lastEventId = null, string query = "") =>
        SseTestClient.ConnectAsync(Server.BaseAddress, Server.Tokens.User(userId), lastEventId, query);

    [Fact]
    public async Task TheStreamSendsItsHeadersAndRetryAtOnceBeforeAnyEvent()
    {
        await using var stream = await ConnectAsync(NewUser());

        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
        Assert.Equal("text/event-stream", stream.Response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no", stream.Response.Headers.GetValues("X-Accel-Buffering").Single());
        Assert.Null(stream.Response.Content.Headers.ContentEncoding.FirstOrDefault());
        Assert.Equal(3000, await stream.Retry.WaitAsync(SseTestClient.DefaultTimeout));
        Assert.True(stream.RetryCameBeforeAnyEvent);
    }

    [Fact]
    public async Task ANotificationArrivesWithItsEventNameIdAndJson()
    {
        var user = NewUser();
        await using var stream = await ConnectAsync(user);
        await stream.Retry.WaitAsync(SseTestClient.DefaultTimeout);

        var id = await Server.SendAsync(user, "over SSE", new { data = new { k = "v" } });

        var frame = await stream.NextAsync("notification");
        Assert.Equal(id.ToString(), frame.Id);
        Assert.Equal(id, frame.Json.GetProperty("id").GetInt64());
        Assert.Equal("v", frame.Json.GetProperty("data").GetProperty("k").GetString());
        var count = await stream.NextAsync("unreadCount");
        Assert.Null(count.Id);
        Assert.Equal(1, count.Json.GetProperty("unreadCount").GetInt32());
    }

    [Fact]
    public async Task WithoutACursorTheStreamIsLiveFromNow()
    {
        var user = NewUser();
        await Server.SendAsync(user, "before");
        await using var stream = await ConnectAsync(user);
        await stream.Retry.WaitAsync(SseTestClient.DefaultTimeout);

        var after = await Server.SendAsync(user, "after");

        Assert.Equal(after.ToString(), (await stream.NextAsync("notification")).Id);
        Assert.Equal([after], stream.NotificationIds());
    }

    [Fact]
    public async Task LastEventIdReplaysOnlyNewerNotificationsThenContinuesLive()
    {
        var user = NewUser();
        var ids = new[] { await Server.SendAsync(user, "a"), await Server.SendAsync(user, "b"), await Server.SendAsync(user, "c") };
        await using var stream = await ConnectAsync(user, lastEventId: ids[0].ToString());

        Assert.Equal(ids[1].ToString(), (await stream.NextAsync("notification")).Id);
        Assert.Equal(ids[2].ToString(), (await stream.NextAsync("notification")).Id);
        var live = await Server.SendAsync(user, "d");
        Assert.Equal(live.ToString(), (await stream.NextAsync("notification")).Id);
        Assert.Equal([ids[1], ids[2], live], stream.NotificationIds());
    }

    [Fact]
    public async Task TheLastEventIdQueryParameterWorksAndZeroMeansEverything()
    {
        var user = NewUser();
        var ids = new[] { await Server.SendAsync(user, "a"), await Server.SendAsync(user, "b") };

        await using var fromZero = await ConnectAsync(user, query: "?lastEventId=0");
        Assert.Equal(ids[0].ToString(), (await fromZero.NextAsync("notification")).Id);
        Assert.Equal(ids[1].ToString(), (await fromZero.NextAsync("notification")).Id);

        await using var fromFirst = await ConnectAsync(user, query: $"?lastEventId={ids[0]}");
        Assert.Equal(ids[1].ToString(), (await fromFirst.NextAsync("notification")).Id);
    }

    [Fact]
    public async Task AnInvalidCursorIsRejected()
    {
        await using var stream = await ConnectAsync(NewUser(), lastEventId: "yesterday");
        Assert.Equal(HttpStatusCode.BadRequest, stream.Response.StatusCode);
        Assert.Equal("application/problem+json", stream.Response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task ReadStateChangesArriveAsEventsWithoutIds()
    {
        var user = NewUser();
        var ids = new[] { await Server.SendAsync(user, "a"), await Server.SendAsync(user, "b") };
        await using var stream = await ConnectAsync(user);
        await stream.Retry.WaitAsync(SseTestClient.DefaultTimeout);
        using var inbox = new InboxClient(Server, user);

        await inbox.MarkReadAsync(ids[0]);
        var read = await stream.NextAsync("notificationRead");
        Assert.Null(read.Id);
        Assert.Equal(ids[0], read.Json.GetProperty("ids")[0].GetInt64());
        Assert.True(read.Json.GetProperty("read").GetBoolean());
        Assert.Equal(1, read.Json.GetProperty("unreadCount").GetInt32());

        await inbox.DeleteAsync(ids[1]);
        var deleted = await stream.NextAsync("notificationDeleted");
        Assert.Null(deleted.Id);
        Assert.Equal(0, deleted.Json.GetProperty("unreadCount").GetInt32());
    }

    [Fact]
    public async Task AHubTabAndAnSseTabOfOneUserBothGetEverything()
    {
        var user = NewUser();
        await using var stream = await ConnectAsync(user);
        await stream.Retry.WaitAsync(SseTestClient.DefaultTimeout);
        await using var hub = await Server.ConnectHubAsync(Server.Tokens.User(user));
        await hub.InvokeAsync("Resume", 0);

        var id = await Server.SendAsync(user, "both");
        await hub.InvokeAsync("MarkRead", id);

        Assert.Equal(id.ToString(), (await stream.NextAsync("notification")).Id);
        Assert.Equal(id, (await stream.NextAsync("notificationRead")).Json.GetProperty("ids")[0].GetInt64());
        Assert.Equal(id, (await hub.WaitForAsync("notification")).GetProperty("id").GetInt64());
    }

    [Fact]
    public async Task AnIdleStreamGetsPingComments()
    {
        await using var stream = await ConnectAsync(NewUser());
        await stream.Retry.WaitAsync(SseTestClient.DefaultTimeout);
        await Eventually.WaitUntilAsync(() => stream.Comments.Contains("ping"), SseTestClient.DefaultTimeout, "a ping comment");
    }

    [Fact]
    public async Task TheTokenMayComeFromTheQueryString()
    {
        var user = NewUser();
        await using var stream = await SseTestClient.ConnectAsync(Server.BaseAddress, null, query: "?access_token=" + Server.Tokens.User(user));
        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
        await stream.Retry.WaitAsync(SseTestClient.DefaultTimeout);
        var id = await Server.SendAsync(user, "query token");
        Assert.Equal(id.ToString(), (await stream.NextAsync("notification")).Id);
    }

    [Fact]
    public async Task WithoutATokenTheStreamIsRefused()
    {
        await using var stream = await SseTestClient.ConnectAsync(Server.BaseAddress, null);
        Assert.Equal(HttpStatusCode.Unauthorized, stream.Response.StatusCode);
    }

    [Fact]
    public async Task TheStreamEndsWhenItsTokenExpires()
    {
        var user = NewUser();
        var token = Server.Tokens.Mint(user, expires: DateTime.UtcNow.AddSeconds(2));
        await using var stream = await SseTestClient.ConnectAsync(Server.BaseAddress, token);
        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);

        await stream.Ended.WaitAsync(TimeSpan.FromSeconds(15));
    }
}

public sealed class SseShutdownTests
{
    [Fact]
    public async Task StreamsEndAtOnceWhenTheNodeShutsDownSoClientsReconnectElsewhere()
    {
        await using var database = await TestDatabase.CreateAsync();
        var server = await RealtimeServer.StartAsync(database.ConnectionString);
        await using var stream = await SseTestClient.ConnectAsync(server.BaseAddress, server.Tokens.User("leaving"));
        await stream.Retry.WaitAsync(SseTestClient.DefaultTimeout);

        var stopping = server.DisposeAsync().AsTask();

        await stream.Ended.WaitAsync(TimeSpan.FromSeconds(10));
        await stopping.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
