using System.Text.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Bus;
using Realtime.Server.Presence;
using static Realtime.IntegrationTests.Presence.PresenceProbe;
using static Realtime.IntegrationTests.Infrastructure.Eventually;

namespace Realtime.IntegrationTests.Presence;

public sealed class FastHeartbeatFixture : ServerFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Presence:NodeTimeoutSeconds"] = "3" };
}

/// <summary>
/// One connection record PostgreSQL refuses (here a trigger in the test database refuses a marker
/// user agent, the stand-in for anything sanitising cannot foresee) is logged and dropped alone:
/// the other connections are recorded, and the node's heartbeat, which never shares a transaction
/// with client-shaped rows, goes on, so the node and its users stay online.
/// </summary>
public sealed class PresencePoisonTests(FastHeartbeatFixture fixture) : IClassFixture<FastHeartbeatFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private RealtimeServer Server => fixture.Server;

    [Fact]
    public async Task ARefusedConnectionRecordIsDroppedAloneAndTheNodeKeepsHeartbeating()
    {
        await using (var setup = await fixture.Database.OpenAsync())
        {
            await setup.ExecuteAsync("""
                CREATE FUNCTION refuse_poisoned_agent() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.user_agent LIKE 'poison%' THEN RAISE EXCEPTION 'refused by the test trigger'; END IF;
                    RETURN NEW;
                END $$;
                CREATE TRIGGER refuse_poisoned_agent BEFORE INSERT OR UPDATE ON connections FOR EACH ROW EXECUTE FUNCTION refuse_poisoned_agent();
                """);
        }
        var nodeId = Server.Services.GetRequiredService<NodeIdentity>().Id;
        var (innocent, poisoner, later) = (NewUser(), NewUser(), NewUser());

        var opening = new[]
        {
            UserAgentConnection.OpenSseAsync(Server, Server.Tokens.User(innocent), "Innocent/1.0"),
            UserAgentConnection.OpenSseAsync(Server, Server.Tokens.User(poisoner), "poison/6.6"),
        };
        await using var first = await opening[0];
        await using var second = await opening[1];
        var poisonedAt = await NodeHeartbeatAsync(nodeId);

        await WaitForConnectionCountAsync(Server, innocent, 1, Patience);
        // Three heartbeats after the refused row (every second here), each of which reconciles this node's rows.
        await WaitUntilAsync(() => NodeHeartbeatAsync(nodeId), at => at >= poisonedAt.AddSeconds(3), Timeout, "three more heartbeats");

        Assert.True((await PresenceAsync(Server, innocent)).GetProperty("online").GetBoolean());
        Assert.False((await PresenceAsync(Server, poisoner)).GetProperty("online").GetBoolean());
        var stats = await StatsAsync(Server);
        Assert.Contains(stats.GetProperty("nodes").EnumerateArray(), n => n.GetProperty("id").GetString() == nodeId);
        await using var third = await UserAgentConnection.OpenSseAsync(Server, Server.Tokens.User(later), "Later/1.0");
        await WaitForConnectionCountAsync(Server, later, 1, Patience);
        Assert.Contains(Server.Logs.Entries, e => e.Message.Contains("Presence dropped the record", StringComparison.Ordinal));
    }

    [Fact]
    public void AUserAgentIsStoredWithoutControlCharactersOrBrokenSurrogatesAndCutWhole()
    {
        Assert.Equal("ab c", ConnectionRecord.CleanText("a\0b\u0001 c\u0085", 100));
        Assert.Equal("x\uFFFDy", ConnectionRecord.CleanText("x\ud800y", 100));
        Assert.Equal("ab", ConnectionRecord.CleanText("ab\ud83d\ude00", 3)); // the pair is not split
        Assert.Null(ConnectionRecord.CleanText("\u0001\u0002", 100));
    }

    private async Task<DateTime> NodeHeartbeatAsync(string nodeId)
    {
        await using var connection = await fixture.Database.OpenAsync();
        return await connection.ExecuteScalarAsync<DateTime>("SELECT last_heartbeat FROM nodes WHERE id = @nodeId", new { nodeId });
    }
}
