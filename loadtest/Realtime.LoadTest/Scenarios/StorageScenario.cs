using System.Text;
using Npgsql;
using Realtime.LoadTest.Clients;
using Realtime.LoadTest.Measurement;
using Realtime.LoadTest.Sending;

namespace Realtime.LoadTest.Scenarios;

/// <summary>
/// <c>storage</c>: what one bulk send costs on disk. One send to <c>--bulk</c> recipients (1,000)
/// with a 4,000-character body and 16 KB of <c>data</c> (random letters, so compression helps
/// little); the growth of every table of the public schema (<c>pg_total_relation_size</c>:
/// heap, TOAST and indexes) divided by the recipients.
/// </summary>
internal static class StorageScenario
{
    private const int DefaultRecipients = 1_000;
    private const int BodyChars = 4_000;
    private const int DataChars = 16_000; // + seq and sentAt: just under the 16 KiB limit of data

    private const string TableSizesSql = """
        SELECT c.relname, pg_total_relation_size(c.oid)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r'
        """;

    public static async Task<ScenarioResult> RunAsync(ScenarioContext context)
    {
        var options = context.Options;
        var result = context.NewResult("storage");
        var recipients = options.Bulk ?? DefaultRecipients;
        if (options.Postgres is not { Length: > 0 } postgres)
        {
            result.Note("storage needs --postgres (or ConnectionStrings__Postgres) of the target's database; the baseline stores nothing");
            return result;
        }
        var before = await TableSizesAsync(postgres, context.CancellationToken);
        using var sender = new ApiSender(context.Target.SendUrl, context.Tokens);
        var users = Enumerable.Range(0, recipients).Select(i => ClientPool.UserId(options, i)).ToArray();
        var body = "\"body\":\"" + RandomText(BodyChars) + "\"";
        var data = "\"blob\":\"" + RandomText(DataChars) + "\"";
        var ok = await sender.SendAsync(users, 0, body, context.CancellationToken, data);
        if (!ok)
        {
            sender.AddTo(result, "send");
            result.Note("the bulk send failed");
            return result;
        }
        var after = await TableSizesAsync(postgres, context.CancellationToken);
        var growth = after.Sum(t => t.Value - before.GetValueOrDefault(t.Key));
        result.Add("recipients", recipients);
        result.Add("request bytes", Encoding.UTF8.GetByteCount(body) + Encoding.UTF8.GetByteCount(data) + users.Sum(u => u.Length + 3));
        result.Add("tables grew (bytes)", growth);
        result.Add("bytes stored per recipient", growth / (double)recipients);
        foreach (var (table, size) in after.OrderByDescending(t => t.Value - before.GetValueOrDefault(t.Key)).Take(3))
        {
            result.Note($"{table}: +{(size - before.GetValueOrDefault(table)) / 1024.0:N0} KB");
        }
        return result;
    }

    private static async Task<Dictionary<string, long>> TableSizesAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(TableSizesSql, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            sizes[reader.GetString(0)] = reader.GetInt64(1);
        }
        return sizes;
    }

    private static string RandomText(int length)
    {
        const string Alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
        return string.Create(length, 0, (span, _) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = Alphabet[Random.Shared.Next(Alphabet.Length)];
            }
        });
    }
}
