using Dapper;

namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>
/// A trigger that makes PostgreSQL refuse any row whose title starts with <see cref="Marker"/>: the
/// stand-in for whatever the database refuses that validation cannot foresee, so a test can fail one
/// send inside a transaction it shares with others.
/// </summary>
public static class PoisonedTitles
{
    public const string Marker = "poison";

    /// <summary>Installs the trigger on each of <paramref name="tables"/> (each has a <c>title</c> column).</summary>
    public static async Task RefuseOnAsync(TestDatabase database, params string[] tables)
    {
        await using var connection = await database.OpenAsync();
        await connection.ExecuteAsync($$"""
            CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.title LIKE '{{Marker}}%' THEN RAISE EXCEPTION 'refused by the test trigger'; END IF;
                RETURN NEW;
            END $$;
            """);
        foreach (var table in tables)
        {
            await connection.ExecuteAsync($"CREATE TRIGGER refuse_poison BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION refuse_poison();");
        }
    }
}
