using Npgsql;

namespace Realtime.Server.Storage;

internal static class StorageSetup
{
    public const string ConnectionStringName = "Postgres";

    public static WebApplicationBuilder AddStorage(this WebApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString(ConnectionStringName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                "ConnectionStrings__Postgres is required (./run.sh starts a local PostgreSQL when it is unset).");
        }

        builder.Services.AddSingleton(_ => new NpgsqlDataSourceBuilder(connectionString).Build());
        builder.Services.AddSingleton<StartupGate>();
        builder.Services.AddSingleton<DatabaseMigrator>();
        builder.Services.AddHostedService<StartupTasks>();
        Dapper.DefaultTypeMap.MatchNamesWithUnderscores = true;
        return builder;
    }
}
