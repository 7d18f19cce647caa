using Microsoft.Extensions.DependencyInjection;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Live;

namespace Realtime.IntegrationTests.Bus;

/// <summary>
/// A node that runs alone (no Redis) hears every commit of its own in-process, so its sequencer's idle
/// poll is only a safety net, at <see cref="LiveOptions.LocalIdlePollInterval"/> instead of every second.
/// </summary>
public sealed class LocalIdlePollTests
{
    [Fact]
    public async Task ALoneNodesSequencerIdlesAtTheLocalPollIntervalNotEverySecond()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using var server = await RealtimeServer.StartAsync(database.ConnectionString);

        var sequencer = server.Services.GetRequiredService<Sequencer>();

        Assert.Equal(new LiveOptions().LocalIdlePollInterval, sequencer.PollInterval);
        Assert.True(sequencer.PollInterval > new LiveOptions().IdlePollInterval);
    }

    [Fact]
    public async Task ACommitALoneNodeNeverHeardOfIsStillDeliveredByItsLocalIdlePoll()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using var server = await RealtimeServer.StartAsync(database.ConnectionString, new Dictionary<string, string?>
        {
            ["Live:IdlePollInterval"] = "00:00:00.050",
            ["Live:LocalIdlePollInterval"] = "00:00:00.300",
        });
        var user = "local-poll-" + Guid.NewGuid().ToString("N")[..8];
        await using var hub = await server.ConnectHubAsync(server.Tokens.User(user));
        Assert.Equal(0, (await hub.InvokeAsync("Resume", 0)).GetInt32());

        var ids = await OtherNode.CommitAsync(database, user, 1); // committed, never published

        var notification = (await hub.NextAsync("notification")).Argument;
        Assert.Equal(ids[0], notification.GetProperty("id").GetInt64());
        Assert.Equal("stored", notification.GetProperty("title").GetString());
    }
}
