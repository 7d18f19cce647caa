using System.Text.Json;
using Dapper;
using Npgsql;

namespace Realtime.Server.Templates;

/// <summary>A stored template: its definition at one version.</summary>
internal sealed record StoredTemplate(string Key, int Version, TemplateDefinition Definition, DateTime CreatedAt, DateTime UpdatedAt)
{
    public TemplateResponse ToResponse() => new(Key, Version, Definition.Category, Definition.Priority, Definition.TtlSeconds,
        Definition.DefaultLocale, Definition.Locales, CreatedAt, UpdatedAt);
}

/// <summary>Templates in PostgreSQL: one row per key, its version counting every replace (see migration 0008).</summary>
internal sealed class TemplateStore(NpgsqlDataSource dataSource, TimeProvider time)
{
    /// <summary>created_at is set to @Now when the row is inserted or a deleted one comes back: then it equals updated_at.</summary>
    private const string Upsert = """
        INSERT INTO templates AS t (key, version, document, created_at, updated_at)
        VALUES (@Key, 1, @Document::json, @Now, @Now)
        ON CONFLICT (key) DO UPDATE
            SET version = t.version + 1, document = EXCLUDED.document, updated_at = EXCLUDED.updated_at,
                created_at = CASE WHEN t.deleted_at IS NULL THEN t.created_at ELSE EXCLUDED.created_at END,
                deleted_at = NULL
        RETURNING t.key, t.version, t.document::text AS document, t.created_at, t.updated_at
        """;

    private const string SelectOne = """
        SELECT key, version, document::text AS document, created_at, updated_at
        FROM templates WHERE key = @Key AND deleted_at IS NULL
        """;

    private const string SelectPage = """
        SELECT key, version, document::text AS document, created_at, updated_at
        FROM templates WHERE deleted_at IS NULL AND (@After::text IS NULL OR key > @After)
        ORDER BY key LIMIT @Limit
        """;

    private const string Delete = """
        UPDATE templates SET document = NULL, deleted_at = @Now, updated_at = @Now, version = version + 1
        WHERE key = @Key AND deleted_at IS NULL
        """;

    /// <summary>Stores <paramref name="definition"/> under <paramref name="key"/>; Created is false when it replaced one.</summary>
    public async Task<(StoredTemplate Template, bool Created)> PutAsync(string key, TemplateDefinition definition, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var document = JsonSerializer.Serialize(definition, RealtimeJsonContext.Default.TemplateDefinition);
        var row = await connection.QuerySingleAsync<TemplateRow>(new CommandDefinition(Upsert,
            new { Key = key, Document = document, Now = time.GetUtcNow().UtcDateTime }, cancellationToken: cancellationToken));
        return (row.ToTemplate(), row.CreatedAt == row.UpdatedAt);
    }

    public async Task<StoredTemplate?> FindAsync(string key, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<TemplateRow>(new CommandDefinition(SelectOne, new { Key = key }, cancellationToken: cancellationToken));
        return row?.ToTemplate();
    }

    /// <summary>Up to <paramref name="limit"/> templates with keys after <paramref name="after"/>, in key order.</summary>
    public async Task<IReadOnlyList<StoredTemplate>> ListAsync(string? after, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<TemplateRow>(new CommandDefinition(SelectPage, new { After = after, Limit = limit }, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToTemplate()).ToList();
    }

    /// <summary>False when there was no such template.</summary>
    public async Task<bool> DeleteAsync(string key, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(Delete, new { Key = key, Now = time.GetUtcNow().UtcDateTime }, cancellationToken: cancellationToken)) > 0;
    }

    private sealed class TemplateRow
    {
        public string Key { get; init; } = "";
        public int Version { get; init; }
        public string Document { get; init; } = "";
        public DateTime CreatedAt { get; init; }
        public DateTime UpdatedAt { get; init; }

        public StoredTemplate ToTemplate() => new(Key, Version,
            JsonSerializer.Deserialize(Document, RealtimeJsonContext.Default.TemplateDefinition)!,
            DateTime.SpecifyKind(CreatedAt, DateTimeKind.Utc), DateTime.SpecifyKind(UpdatedAt, DateTimeKind.Utc));
    }
}
