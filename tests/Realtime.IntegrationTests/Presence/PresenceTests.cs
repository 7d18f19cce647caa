using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;
using Realtime.Server.Bus;
using Realtime.Server.Presence;
using static Realtime.IntegrationTests.Presence.PresenceProbe;
using static Realtime.IntegrationTests.Infrastructure.Eventually;

namespace Realtime.IntegrationTests.Presence;

/// <summary>API.md "Admins: presence and stats" on one node: what presence lists, how fast a close shows, who may ask.</summary>
public sealed class PresenceTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RealtimeServer Server => fixture.Server;

    private string NodeId => Server.Services.GetRequiredService<NodeIdentity>().Id;

    [Fact]
    public async Task PresenceListsAUsersHubAndSseConnectionsWithTransportNodeAndUserAgent()
    {
        var user = NewUser();
        var token = Server.Tokens.User(user);
        await using var hub = await UserAgentConnection.OpenHubAsync(Server, token, "PresenceTests-Hub/1.0");
        await using var sse = await UserAgentConnection.OpenSseAsync(Server, token, "PresenceTests-Sse/2.0");

        await WaitForConnectionCountAsync(Server, user, 2, Patience);

        var presence = await PresenceAsync(Server, user);
        Assert.Equal(["userId", "online", "connections"], presence.EnumerateObject().Select(p => p.Name));
        Assert.Equal(user, presence.GetProperty("userId").GetString());
        Assert.True(presence.GetProperty("online").GetBoolean());
        var connections = presence.GetProperty("connections").EnumerateArray().ToList();
        var byTransport = connections.ToDictionary(c => c.GetProperty("transport").GetString()!);
        Assert.Equal(["sse", "websockets"], byTransport.Keys.Order());
        Assert.Equal("PresenceTests-Hub/1.0", byTransport["websockets"].GetProperty("userAgent").GetString());
        Assert.Equal("PresenceTests-Sse/2.0", byTransport["sse"].GetProperty("userAgent").GetString());
        foreach (var connection in connections)
        {
            Assert.Equal(["id", "node", "transport", "connectedAt", "userAgent"], connection.EnumerateObject().Select(p => p.Name));
            Assert.False(string.IsNullOrEmpty(connection.GetProperty("id").GetString()));
            Assert.Equal(NodeId, connection.GetProperty("node").GetString());
            AssertTimestamp(connection.GetProperty("connectedAt"));
            var connectedAt = connection.GetProperty("connectedAt").GetDateTime();
            Assert.InRange(connectedAt, DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow.AddSeconds(1));
        }
        Assert.NotEqual(connections[0].GetProperty("id").GetString(), connections[1].GetProperty("id").GetString());
    }

    [Fact]
    public async Task AUserWithoutConnectionsIsOfflineWithAnEmptyList()
    {
        var presence = await PresenceAsync(Server, NewUser());

        Assert.False(presence.GetProperty("online").GetBoolean());
        Assert.Empty(presence.GetProperty("connections").EnumerateArray());
    }

    [Fact]
    public async Task AClosedHubConnectionIsGoneFromPresenceWithinOneSecond()
    {
        var user = NewUser();
        await using var staying = await Server.ConnectHubAsync(Server.Tokens.User(user));
        await using var leaving = await Server.ConnectHubAsync(Server.Tokens.User(user));
        await WaitForConnectionCountAsync(Server, user, 2, Patience);

        await leaving.CloseAsync();
        await WaitForConnectionCountAsync(Server, user, 1, CloseVisibleWithin);

        await staying.CloseAsync();
        await WaitForConnectionCountAsync(Server, user, 0, CloseVisibleWithin);
        Assert.False((await PresenceAsync(Server, user)).GetProperty("online").GetBoolean());
    }

    [Fact]
    public async Task AClosedSseStreamIsGoneFromPresenceWithinOneSecond()
    {
        var user = NewUser();
        var sse = await SseTestClient.ConnectAsync(Server.BaseAddress, Server.Tokens.User(user));
        await using (sse)
        {
            await WaitForConnectionCountAsync(Server, user, 1, Patience);
            Assert.Equal("sse", (await ConnectionsAsync(Server, user)).Single().GetProperty("transport").GetString());
        }

        await WaitForConnectionCountAsync(Server, user, 0, CloseVisibleWithin);
    }

    [Fact]
    public async Task ClosedConnectionsKeepTheirRowMarkedWithWhenTheyClosed()
    {
        var user = NewUser();
        await using (var hub = await Server.ConnectHubAsync(Server.Tokens.User(user)))
        {
            await WaitForConnectionCountAsync(Server, user, 1, Patience);
        }
        await WaitForConnectionCountAsync(Server, user, 0, CloseVisibleWithin);

        await using var connection = await fixture.Database.OpenAsync();
        var row = await Dapper.SqlMapper.QuerySingleAsync<(string NodeId, string Transport, DateTime ConnectedAt, DateTime LastSeenAt, DateTime? DisconnectedAt)>(connection,
            "SELECT node_id, transport, connected_at, last_seen_at, disconnected_at FROM connections WHERE user_id = @user", new { user });
        Assert.Equal(NodeId, row.NodeId);
        Assert.Equal("websockets", row.Transport);
        Assert.NotNull(row.DisconnectedAt);
        Assert.True(row.DisconnectedAt >= row.ConnectedAt);
        Assert.True(row.LastSeenAt >= row.ConnectedAt);
    }

    [Fact]
    public async Task TheStoreAnswersWhetherUsersAreOnlineOneByOneAndInABatch()
    {
        var store = Server.Services.GetRequiredService<PresenceStore>();
        var online = NewUser();
        var alsoOnline = NewUser();
        var offline = NewUser();
        await using var hub = await Server.ConnectHubAsync(Server.Tokens.User(online));
        await using var sse = await SseTestClient.ConnectAsync(Server.BaseAddress, Server.Tokens.User(alsoOnline));
        await WaitUntilAsync(() => store.OnlineAmongAsync([online, alsoOnline], CancellationToken.None), s => s.Count == 2, Patience, "both online");

        Assert.True(await store.IsOnlineAsync(online, CancellationToken.None));
        Assert.True(await store.IsOnlineAsync(alsoOnline, CancellationToken.None));
        Assert.False(await store.IsOnlineAsync(offline, CancellationToken.None));
        Assert.Equal(new[] { online, alsoOnline }.Order(), (await store.OnlineAmongAsync([offline, online, alsoOnline, online], CancellationToken.None)).Order());
        Assert.Empty(await store.OnlineAmongAsync([], CancellationToken.None));

        await hub.CloseAsync();
        await WaitUntilAsync(() => store.IsOnlineAsync(online, CancellationToken.None), o => !o, CloseVisibleWithin, $"{online} offline");
        Assert.Equal([alsoOnline], await store.OnlineAmongAsync([online, alsoOnline], CancellationToken.None));
    }

    [Theory]
    [InlineData("/api/admin/presence/alice")]
    [InlineData("/api/admin/stats")]
    public async Task OnlyAdminsMaySeePresenceAndStats(string path)
    {
        foreach (var token in new[] { Server.Tokens.User(NewUser()), Server.Tokens.Service() })
        {
            using var client = Server.CreateApiClient(token);
            await ProblemAssert.IsProblemAsync(await client.GetAsync(path), HttpStatusCode.Forbidden);
        }
        using var anonymous = Server.CreateApiClient();
        await ProblemAssert.IsProblemAsync(await anonymous.GetAsync(path), HttpStatusCode.Unauthorized);

        using var admin = Server.CreateApiClient(Server.Tokens.Admin());
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync(path)).StatusCode);
    }
}
