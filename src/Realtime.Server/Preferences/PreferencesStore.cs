using System.Text.Json;
using Dapper;
using Npgsql;

namespace Realtime.Server.Preferences;

/// <summary>Every statement on <c>user_preferences</c>: one row per user who saved any, the document as jsonb.</summary>
internal sealed class PreferencesStore(NpgsqlDataSource dataSource)
{
    private const string SelectMany = """
        SELECT user_id AS UserId, document::text AS Document FROM user_preferences WHERE user_id = ANY(@UserIds)
        """;

    private const string Upsert = """
        INSERT INTO user_preferences (user_id, document, updated_at) VALUES (@UserId, @Document::jsonb, @Now)
        ON CONFLICT (user_id) DO UPDATE SET document = EXCLUDED.document, updated_at = EXCLUDED.updated_at
        """;

    /// <summary>The stored documents of those of <paramref name="userIds"/> who saved any.</summary>
    public async Task<Dictionary<string, PreferencesDocument>> LoadAsync(IReadOnlyCollection<string> userIds, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string UserId, string Document)>(new CommandDefinition(SelectMany,
            new { UserIds = userIds as string[] ?? userIds.ToArray() }, cancellationToken: cancellationToken));
        var documents = new Dictionary<string, PreferencesDocument>(StringComparer.Ordinal);
        foreach (var (userId, document) in rows)
        {
            documents[userId] = Deserialize(document);
        }
        return documents;
    }

    public async Task SaveAsync(string userId, PreferencesDocument document, DateTime now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(Upsert,
            new { UserId = userId, Document = JsonSerializer.Serialize(document, RealtimeJsonContext.Default.PreferencesDocument), Now = now },
            cancellationToken: cancellationToken));
    }

    /// <summary>jsonb keeps keys in its own order: categories are put back in ordinal order, as they were saved.</summary>
    private static PreferencesDocument Deserialize(string json)
    {
        var document = JsonSerializer.Deserialize(json, RealtimeJsonContext.Default.PreferencesDocument)!;
        var categories = new Dictionary<string, CategoryPreferences>(StringComparer.Ordinal);
        foreach (var (name, settings) in document.Categories.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            categories[name] = settings;
        }
        return document with { Channels = document.Channels ?? ChannelPreferences.AllOn, Categories = categories };
    }
}
