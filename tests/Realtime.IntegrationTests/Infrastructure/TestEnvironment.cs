namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>The services ./test.sh starts. Missing ones fail loudly with the command that provides them.</summary>
public static class TestEnvironment
{
    public static string PostgresAdminConnectionString =>
        Environment.GetEnvironmentVariable("ConnectionStrings__Postgres") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                "ConnectionStrings__Postgres is not set. Run the tests with ./test.sh, which starts a throwaway PostgreSQL (and Redis) and sets it.");
}
