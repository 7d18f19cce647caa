using System.Diagnostics;
using Npgsql;

namespace Realtime.Server.Storage;

internal static class StorageSetup
{
    public const string ConnectionStringName = "Postgres";

    /// <summary>Statements Npgsql keeps prepared per physical connection (the most used ones).</summary>
    public const int DefaultMaxAutoPrepare = 64;

    public static WebApplicationBuilder AddStorage(this WebApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString(ConnectionStringName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                "ConnectionStrings__Postgres is required (./run.sh starts a local PostgreSQL when it is unset).");
        }

        // Commands are traced only inside a span (a request, a commit): background polling would make a trace per query.
        // Physical connection opens have no such filter, and are pool housekeeping: not traced.
        var pooled = PooledConnectionString(connectionString);
        builder.Services.AddSingleton(_ => new NpgsqlDataSourceBuilder(pooled)
            .ConfigureTracing(tracing => tracing
                .ConfigureCommandFilter(_ => Activity.Current is not null)
                .ConfigureBatchFilter(_ => Activity.Current is not null)
                .ConfigureCopyOperationFilter(_ => Activity.Current is not null)
                .EnablePhysicalOpenTracing(false))
            .Build());
        builder.Services.AddSingleton<StartupGate>();
        builder.Services.AddSingleton<DatabaseMigrator>();
        builder.Services.AddHostedService<StartupTasks>();
        Dapper.DefaultTypeMap.MatchNamesWithUnderscores = true;
        return builder;
    }

    /// <summary>
    /// The connection string the pool uses: <paramref name="configured"/> with <c>No Reset On Close</c>, and
    /// <c>Max Auto Prepare</c> at <see cref="DefaultMaxAutoPrepare"/> unless the configured string names it.
    /// </summary>
    /// <remarks>
    /// No DISCARD ALL each time a pooled connection is rented: the server sets no session state (no SET,
    /// no LISTEN, no temporary tables; the migrations' session lock is released in a finally, and a
    /// connection with a transaction still open is rolled back on return either way). The only state a
    /// connection keeps is Npgsql's own automatic preparation: a statement run MinAutoPrepare (5) times on
    /// a physical connection is prepared there, so PostgreSQL parses and plans the hot statements (the
    /// send's transaction: its SQL is constant, arrays carry the rows) once per connection, not per run.
    /// A string that names Max Auto Prepare keeps its value, 0 included (a transaction-pooling PgBouncer
    /// in front of PostgreSQL cannot keep prepared statements).
    /// </remarks>
    internal static string PooledConnectionString(string configured)
    {
        var pooled = new NpgsqlConnectionStringBuilder(configured) { NoResetOnClose = true };
        if (!Names(configured, nameof(NpgsqlConnectionStringBuilder.MaxAutoPrepare)))
        {
            pooled.MaxAutoPrepare = DefaultMaxAutoPrepare;
        }
        return pooled.ConnectionString;
    }

    /// <summary>Whether <paramref name="connectionString"/> sets <paramref name="property"/> (a keyword with or without spaces, any case).</summary>
    private static bool Names(string connectionString, string property)
    {
        var keywords = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString }.Keys;
        return keywords.Cast<string>().Any(keyword => string.Equals(keyword.Replace(" ", ""), property, StringComparison.OrdinalIgnoreCase));
    }
}
