using Dapper;
using Npgsql;
using Realtime.Server.Notifications;
using Realtime.Server.Storage;

namespace Realtime.Server.Broadcasts;

/// <summary>
/// Broadcasts are stored once (one row however many users there are), merged into every inbox at
/// read time with the reader's receipt (read or deleted), and purged once expired (receipts go with them).
/// </summary>
internal static class BroadcastStore
{
    /// <summary>SQL: a broadcast <c>b</c> that has not expired.</summary>
    public const string Active = "(b.expires_at IS NULL OR b.expires_at > @Now)";

    /// <summary>SQL (a FROM and WHERE to extend with AND): the broadcasts user <c>@UserId</c> sees, as <c>b</c> with their receipt <c>r</c>.</summary>
    public const string VisibleToUser = $"""
        broadcasts b LEFT JOIN broadcast_receipts r ON r.broadcast_id = b.id AND r.user_id = @UserId
        WHERE {Active} AND r.deleted IS NOT TRUE
        """;

    private const string Insert = $"""
        INSERT INTO broadcasts (id, sender, category, title, body, data, link, priority, created_at, expires_at)
        SELECT {IdAllocator.LastAllocatedId} + @IdBase + b.ordinal, b.sender, b.category, b.title, b.body, b.data::jsonb, b.link, b.priority, @CreatedAt, b.expires_at
        FROM unnest(@Senders::text[], @Categories::text[], @Titles::text[], @Bodies::text[],
                    @Datas::text[], @Links::text[], @Priorities::text[], @ExpiresAts::timestamptz[])
             WITH ORDINALITY AS b(sender, category, title, body, data, link, priority, expires_at, ordinal)
        """;

    private const string DeleteExpired = """
        DELETE FROM broadcasts
        WHERE id IN (SELECT id FROM broadcasts WHERE expires_at <= @Now LIMIT @Batch)
        """;

    private const int PurgeBatch = 500;

    /// <summary>Inserts the broadcasts in order, taking ids from <paramref name="idBase"/> (see <see cref="IdAllocator.IdBase"/>).</summary>
    public static NpgsqlBatchCommand InsertCommand(IReadOnlyList<(string Sender, ValidatedSend Send)> broadcasts, long idBase, DateTime createdAt)
    {
        var command = new NpgsqlBatchCommand(Insert);
        command.Parameters.Add(new NpgsqlParameter<string[]>("Senders", broadcasts.Select(b => b.Sender).ToArray()));
        NotificationStore.AddContent(command, broadcasts.Select(b => b.Send).ToList(), idBase, createdAt);
        return command;
    }

    /// <summary>Deletes expired broadcasts (and, by cascade, their receipts) in batches; returns how many.</summary>
    public static async Task<int> PurgeExpiredAsync(NpgsqlDataSource dataSource, DateTime now, CancellationToken cancellationToken)
    {
        int deleted, total = 0;
        do
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            deleted = await connection.ExecuteAsync(new CommandDefinition(DeleteExpired,
                new { Now = now, Batch = PurgeBatch }, cancellationToken: cancellationToken));
            total += deleted;
        }
        while (deleted == PurgeBatch);
        return total;
    }
}
