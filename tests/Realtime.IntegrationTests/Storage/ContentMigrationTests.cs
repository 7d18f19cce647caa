using System.Text.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;
using Realtime.Server.Live;
using Realtime.Server.Storage;

namespace Realtime.IntegrationTests.Storage;

/// <summary>
/// Migration 0005 moves the content of existing notifications (written with a full copy per
/// recipient) into notification_contents: an installation that upgrades reads every old
/// notification as it was, through the inbox and through the sequencer's reads.
/// </summary>
public sealed class ContentMigrationTests
{
    private const int ContentsMigration = 5;

    private static readonly DateTime BulkCreatedAt = new(2026, 11, 20, 10, 0, 0, 123, DateTimeKind.Utc);
    private static readonly DateTime SingleCreatedAt = new(2026, 11, 20, 11, 0, 0, 456, DateTimeKind.Utc);

    [Fact]
    public async Task NotificationsWrittenUnderTheOldSchemaReadTheSameAfterTheUpgrade()
    {
        await using var database = await TestDatabase.CreateAsync();
        await MigrateBeforeContentsAsync(database);
        await using (var connection = await database.OpenAsync())
        {
            await connection.ExecuteAsync("""
                SELECT setval('notification_ids', 5);
                -- One bulk send (one transaction) to three users, one of whom has read it.
                INSERT INTO notifications (id, user_id, category, title, body, data, link, priority, created_at, expires_at, read_at) VALUES
                    (1, 'old-ann', 'billing', 'Invoice', 'Due soon', '{"invoice": "i-1", "items": [1, 2]}', 'https://example.com/i/1', 'high', @BulkCreatedAt, NULL, NULL),
                    (2, 'old-bob', 'billing', 'Invoice', 'Due soon', '{"invoice": "i-1", "items": [1, 2]}', 'https://example.com/i/1', 'high', @BulkCreatedAt, NULL, @BulkCreatedAt),
                    (3, 'old-cid', 'billing', 'Invoice', 'Due soon', '{"invoice": "i-1", "items": [1, 2]}', 'https://example.com/i/1', 'high', @BulkCreatedAt, NULL, NULL);
                -- A single send with a TTL and no body, data or link; the same title in another transaction.
                INSERT INTO notifications (id, user_id, category, title, priority, created_at, expires_at) VALUES
                    (4, 'old-ann', 'general', 'Invoice', 'normal', @SingleCreatedAt, @SingleCreatedAt + interval '10 years');
                INSERT INTO user_counters (user_id, unread) VALUES ('old-ann', 2), ('old-cid', 1);
                """, new { BulkCreatedAt, SingleCreatedAt });
        }

        await using var server = await RealtimeServer.StartAsync(database.ConnectionString);

        var ann = await SendApi.InboxAsync(server, "old-ann");
        Assert.Equal([4L, 1L], ann.Select(n => n.GetProperty("id").GetInt64()));
        AssertNotification(ann[1], 1, "old-ann", "billing", "Invoice", "Due soon", """{"invoice":"i-1","items":[1,2]}""", "https://example.com/i/1", "high",
            "2026-11-20T10:00:00.123Z", expiresAt: null, readAt: null);
        AssertNotification(ann[0], 4, "old-ann", "general", "Invoice", body: null, data: null, link: null, "normal",
            "2026-11-20T11:00:00.456Z", expiresAt: "2036-11-20T11:00:00.456Z", readAt: null);
        var bob = Assert.Single(await SendApi.InboxAsync(server, "old-bob"));
        AssertNotification(bob, 2, "old-bob", "billing", "Invoice", "Due soon", """{"invoice":"i-1","items":[1,2]}""", "https://example.com/i/1", "high",
            "2026-11-20T10:00:00.123Z", expiresAt: null, readAt: "2026-11-20T10:00:00.123Z");
        using (var inbox = new InboxClient(server, "old-ann"))
        {
            Assert.Equal(2, await inbox.UnreadCountAsync());
        }

        // The sequencer's gap reads and resume read them too.
        var range = await server.Services.GetRequiredService<SequenceStore>().ReadRangeAsync(1, 4, CancellationToken.None);
        Assert.Equal([1L, 2L, 3L, 4L], range.Select(n => n.Id));
        using (var third = JsonDocument.Parse(range[2].Json.Utf8.ToArray()))
        {
            Assert.Equal("old-cid", third.RootElement.GetProperty("userId").GetString());
            Assert.Equal("Due soon", third.RootElement.GetProperty("body").GetString());
        }

        // The bulk send's three rows share one content; the single send has its own.
        await using var check = await database.OpenAsync();
        Assert.Equal(2, await check.ExecuteScalarAsync<long>("SELECT count(*) FROM notification_contents"));
        Assert.Equal(1, await check.ExecuteScalarAsync<long>("SELECT count(DISTINCT content_id) FROM notifications WHERE id <= 3"));

        // New sends take ids after the old ones.
        var next = await server.SendAsync("old-ann", "after the upgrade");
        Assert.True(next > 5, $"{next}");
        Assert.Equal(3, (await SendApi.InboxAsync(server, "old-ann")).Count);
    }

    /// <summary>Applies the migrations before 0005 the way the server records them.</summary>
    private static async Task MigrateBeforeContentsAsync(TestDatabase database)
    {
        await using var connection = await database.OpenAsync();
        await connection.ExecuteAsync("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
        foreach (var migration in DatabaseMigrator.EmbeddedMigrations.Where(m => m.Version < ContentsMigration))
        {
            await connection.ExecuteAsync(migration.Sql);
            await connection.ExecuteAsync("INSERT INTO schema_migrations (version, name) VALUES (@Version, @Name)", new { migration.Version, migration.Name });
        }
    }

    private static void AssertNotification(JsonElement item, long id, string userId, string category, string title, string? body, string? data,
        string? link, string priority, string createdAt, string? expiresAt, string? readAt)
    {
        Assert.Equal(id, item.GetProperty("id").GetInt64());
        Assert.Equal(userId, item.GetProperty("userId").GetString());
        Assert.Equal(category, item.GetProperty("category").GetString());
        Assert.Equal(title, item.GetProperty("title").GetString());
        Assert.Equal(body, item.GetProperty("body").GetString());
        if (data is null)
        {
            Assert.Equal(JsonValueKind.Null, item.GetProperty("data").ValueKind);
        }
        else
        {
            using var expected = JsonDocument.Parse(data);
            Assert.True(JsonElement.DeepEquals(expected.RootElement, item.GetProperty("data")), $"data: {item.GetProperty("data")}");
        }
        Assert.Equal(link, item.GetProperty("link").GetString());
        Assert.Equal(priority, item.GetProperty("priority").GetString());
        Assert.False(item.GetProperty("broadcast").GetBoolean());
        Assert.Equal(createdAt, item.GetProperty("createdAt").GetString());
        Assert.Equal(expiresAt, item.GetProperty("expiresAt").GetString());
        Assert.Equal(readAt, item.GetProperty("readAt").GetString());
    }
}
