using System.Text;
using System.Text.Json;
using Dapper;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;

namespace Realtime.IntegrationTests.Storage;

/// <summary>
/// A send's content is stored once, with a small row per recipient: what one bulk send costs on
/// disk, measured as the growth of every table (<c>pg_total_relation_size</c>: heap, TOAST and
/// indexes). A database of its own, so nothing else grows meanwhile.
/// </summary>
public sealed class BulkSendStorageTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    /// <summary>Copying the content per recipient stored 25,362 bytes per recipient for this send (BENCHMARKS.md).</summary>
    private const double MaxBytesPerRecipient = 2_000;

    private const string TableSizes = """
        SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r'
        """;

    [Fact]
    public async Task ABulkSendToAThousandRecipientsStoresItsContentOnceAndUnderTwoKilobytesPerRecipient()
    {
        var users = Enumerable.Range(0, 1_000).Select(i => $"bulk-{i:D4}-{Guid.NewGuid():N}"[..24]).ToArray();
        var body = RandomText(4_000);
        var data = new Dictionary<string, string> { ["blob"] = RandomText(16_000) };
        await using var connection = await fixture.Database.OpenAsync();
        var before = await connection.ExecuteScalarAsync<long>(TableSizes);
        var contentsBefore = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM notification_contents");

        using var sender = fixture.Server.CreateApiClient(fixture.Server.Tokens.Service());
        var sent = await SendApi.ReadSentAsync(await SendApi.PostAsync(sender, new { userIds = users, title = "bulk", body, data }));

        var grown = await connection.ExecuteScalarAsync<long>(TableSizes) - before;
        var perRecipient = grown / (double)users.Length;
        Assert.Equal(users.Length, sent.Count);
        Assert.Equal(contentsBefore + 1, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM notification_contents"));
        Assert.True(perRecipient < MaxBytesPerRecipient, $"{perRecipient:N0} bytes per recipient ({grown:N0} bytes for {users.Length} recipients)");

        // Every recipient still reads the whole content.
        foreach (var user in new[] { users[0], users[^1] })
        {
            var item = Assert.Single(await SendApi.InboxAsync(fixture.Server, user));
            Assert.Equal(body, item.GetProperty("body").GetString());
            Assert.Equal(data["blob"], item.GetProperty("data").GetProperty("blob").GetString());
            Assert.Equal(user, item.GetProperty("userId").GetString());
        }
    }

    [Fact]
    public async Task EqualContentOfSendsCommittedTogetherIsStoredOnceAndDifferentContentApart()
    {
        using var sender = fixture.Server.CreateApiClient(fixture.Server.Tokens.Service());
        var users = Enumerable.Range(0, 3).Select(_ => SendApi.NewUserId("shared")).ToArray();
        var title = "shared " + Guid.NewGuid().ToString("N");

        // Whatever the batching, each recipient reads its own send's fields.
        var answers = await Task.WhenAll(
            SendApi.PostAsync(sender, new { userId = users[0], title, ttlSeconds = 3_600 }),
            SendApi.PostAsync(sender, new { userId = users[1], title }),
            SendApi.PostAsync(sender, new { userId = users[2], title, body = "different" }));
        foreach (var answer in answers)
        {
            await SendApi.ReadSentAsync(answer);
        }

        var first = Assert.Single(await SendApi.InboxAsync(fixture.Server, users[0]));
        var second = Assert.Single(await SendApi.InboxAsync(fixture.Server, users[1]));
        var third = Assert.Single(await SendApi.InboxAsync(fixture.Server, users[2]));
        Assert.Equal(title, first.GetProperty("title").GetString());
        Assert.NotEqual(JsonValueKind.Null, first.GetProperty("expiresAt").ValueKind);
        Assert.Equal(JsonValueKind.Null, second.GetProperty("expiresAt").ValueKind);
        Assert.Equal(JsonValueKind.Null, second.GetProperty("body").ValueKind);
        Assert.Equal("different", third.GetProperty("body").GetString());
        await using var connection = await fixture.Database.OpenAsync();
        var contents = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM notification_contents WHERE title = @title", new { title });
        Assert.InRange(contents, 2, 3); // 2 when the first two sends shared a transaction
    }

    private static string RandomText(int length)
    {
        const string Alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
        var text = new StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            text.Append(Alphabet[Random.Shared.Next(Alphabet.Length)]);
        }
        return text.ToString();
    }
}
