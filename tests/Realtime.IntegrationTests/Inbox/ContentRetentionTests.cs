using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;
using Realtime.Server.Notifications;

namespace Realtime.IntegrationTests.Inbox;

/// <summary>
/// A send's content is stored once for all its recipients: retention deletes it once no
/// notification refers to it (all expired, or all deleted by their users), never before.
/// Retention moves the server's clock, so it gets a server of its own.
/// </summary>
public sealed class ContentRetentionTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task RetentionPurgesContentNoNotificationRefersToAndKeepsContentStillInAnInbox()
    {
        var server = fixture.Server;
        using var sender = server.CreateApiClient(server.Tokens.Service());
        string User(string name) => $"{name}-{Guid.NewGuid():N}"[..20];
        var (deleter, expiring1, expiring2, keeper, otherDeleter) = (User("deleter"), User("expiring"), User("expiring"), User("keeper"), User("other"));

        var deleted = Assert.Single(await SendApi.ReadSentAsync(await SendApi.PostAsync(sender, new { userId = deleter, title = "deleted by its user" })));
        var expired = await SendApi.ReadSentAsync(await SendApi.PostAsync(sender, new { userIds = new[] { expiring1, expiring2 }, title = "expires", ttlSeconds = 30 }));
        var kept = await SendApi.ReadSentAsync(await SendApi.PostAsync(sender, new { userIds = new[] { keeper, otherDeleter }, title = "kept by one", body = "still here" }));
        var contents = new[] { await ContentOfAsync(deleted.Id), await ContentOfAsync(expired[0].Id), await ContentOfAsync(kept[0].Id) };

        using (var inbox = new InboxClient(server, deleter))
        {
            (await inbox.DeleteAsync(deleted.Id)).EnsureSuccessStatusCode();
        }
        using (var inbox = new InboxClient(server, otherDeleter))
        {
            (await inbox.DeleteAsync(kept.Single(s => s.UserId == otherDeleter).Id)).EnsureSuccessStatusCode();
        }
        server.Time.Advance(TimeSpan.FromSeconds(31));
        var (_, purgedContents, _) = await server.Services.GetRequiredService<NotificationRetention>().PurgeAsync(CancellationToken.None);

        Assert.True(purgedContents >= 2, $"purged {purgedContents} contents");
        await using var connection = await fixture.Database.OpenAsync();
        var left = (await connection.QueryAsync<long>("SELECT id FROM notification_contents WHERE id = ANY(@contents)", new { contents })).ToList();
        Assert.Equal([contents[2]], left);
        var item = Assert.Single(await SendApi.InboxAsync(server, keeper));
        Assert.Equal("still here", item.GetProperty("body").GetString());
    }

    private async Task<long> ContentOfAsync(long notificationId)
    {
        await using var connection = await fixture.Database.OpenAsync();
        return await connection.ExecuteScalarAsync<long>("SELECT content_id FROM notifications WHERE id = @notificationId", new { notificationId });
    }
}
