using System.Text.RegularExpressions;
using Dapper;
using Npgsql;

namespace Realtime.Server.Storage;

internal sealed class SchemaTooNewException(int databaseVersion, int codeVersion)
    : Exception($"Database schema version {databaseVersion} is newer than this server's {codeVersion}.")
{
    public int DatabaseVersion { get; } = databaseVersion;
    public int CodeVersion { get; } = codeVersion;
}

/// <summary>
/// Applies the numbered <c>Migrations/NNNN_name.sql</c> files embedded in this assembly, each in
/// its own transaction, under a session advisory lock so that several nodes can start at once.
/// </summary>
internal sealed partial class DatabaseMigrator(NpgsqlDataSource dataSource, ILogger<DatabaseMigrator> logger)
{
    /// <summary>Advisory lock key of the migrator (ASCII "rt-migr").</summary>
    private const long MigrationLockKey = 0x72742D6D69677200;

    private const string CreateHistoryTable = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    integer     PRIMARY KEY,
            name       text        NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """;

    private const string SelectAppliedVersions = "SELECT version FROM schema_migrations";

    private const string InsertApplied = "INSERT INTO schema_migrations (version, name) VALUES (@Version, @Name)";

    public static IReadOnlyList<Migration> EmbeddedMigrations { get; } = LoadEmbeddedMigrations();

    public static int CodeVersion => EmbeddedMigrations.Count == 0 ? 0 : EmbeddedMigrations[^1].Version;

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_lock(@key)", new { key = MigrationLockKey }, cancellationToken: cancellationToken));
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(CreateHistoryTable, cancellationToken: cancellationToken));
            var applied = (await connection.QueryAsync<int>(new CommandDefinition(SelectAppliedVersions, cancellationToken: cancellationToken))).ToHashSet();
            var newest = applied.Count == 0 ? 0 : applied.Max();
            if (newest > CodeVersion)
            {
                throw new SchemaTooNewException(newest, CodeVersion);
            }

            foreach (var migration in EmbeddedMigrations.Where(m => !applied.Contains(m.Version)))
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await connection.ExecuteAsync(new CommandDefinition(migration.Sql, transaction: transaction, cancellationToken: cancellationToken));
                await connection.ExecuteAsync(new CommandDefinition(InsertApplied, new { migration.Version, migration.Name }, transaction, cancellationToken: cancellationToken));
                await transaction.CommitAsync(cancellationToken);
                LogApplied(logger, migration.Version, migration.Name);
            }
        }
        finally
        {
            await connection.ExecuteAsync("SELECT pg_advisory_unlock(@key)", new { key = MigrationLockKey });
        }
    }

    private static List<Migration> LoadEmbeddedMigrations()
    {
        var assembly = typeof(DatabaseMigrator).Assembly;
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            var match = MigrationResourceName().Match(resource);
            if (!match.Success)
            {
                continue;
            }

            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            migrations.Add(new Migration(int.Parse(match.Groups["version"].Value), match.Groups["name"].Value, reader.ReadToEnd()));
        }

        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));
        return migrations;
    }

    [GeneratedRegex(@"\.Migrations\.(?<version>\d{4})_(?<name>[A-Za-z0-9_]+)\.sql$")]
    private static partial Regex MigrationResourceName();

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied migration {Version} {Name}")]
    private static partial void LogApplied(ILogger logger, int version, string name);
}

internal sealed record Migration(int Version, string Name, string Sql);
