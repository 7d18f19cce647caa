using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Notifications;

namespace Realtime.IntegrationTests.Inbox;

/// <summary>Retention moves the server's clock, so it gets a server of its own.</summary>
public sealed class RetentionTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task PurgingExpiredNotificationsKeepsUnreadCountsExact()
    {
        var server = fixture.Server;
        var user = "retained-" + Guid.NewGuid().ToString("N")[..8];
        var expiringRead = await server.SendAsync(user, "expiring, read", new { ttlSeconds = 30 });
        await server.SendAsync(user, "expiring, unread", new { ttlSeconds = 30 });
        var lasting = await server.SendAsync(user, "lasting");
        using var inbox = new InboxClient(server, user);
        await inbox.MarkReadAsync(expiringRead);
        Assert.Equal(2, await inbox.UnreadCountAsync());

        server.Time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(1, await inbox.UnreadCountAsync());
        var (purged, _, _) = await server.Services.GetRequiredService<NotificationRetention>().PurgeAsync(CancellationToken.None);

        Assert.True(purged >= 2, $"purged {purged}");
        await using var connection = await fixture.Database.OpenAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM notifications WHERE user_id = @user AND id <> @lasting", new { user, lasting }));
        Assert.Equal(1, await connection.ExecuteScalarAsync<int>("SELECT unread FROM user_counters WHERE user_id = @user", new { user }));
        Assert.Equal(1, await inbox.UnreadCountAsync());
        Assert.Equal([lasting], await inbox.ListIdsAsync());
    }

    [Fact]
    public async Task IdempotencyKeysArePurgedAfter24Hours()
    {
        var server = fixture.Server;
        using var client = server.CreateApiClient(server.Tokens.Service("retention-sender"));
        var response = await client.PostAsync("/api/notifications", new StringContent(
            """{"userId":"someone","title":"keyed","idempotencyKey":"purge-me"}""", System.Text.Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();

        server.Time.Advance(TimeSpan.FromHours(25));
        var (_, _, keys) = await server.Services.GetRequiredService<NotificationRetention>().PurgeAsync(CancellationToken.None);

        Assert.True(keys >= 1);
        await using var connection = await fixture.Database.OpenAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM idempotency_keys WHERE key = 'purge-me'"));
    }
}
