using Npgsql;
using Realtime.Server.Storage;

namespace Realtime.Server.Notifications;

/// <summary>Stores users' own notifications: one row per recipient, with ids from <see cref="IdAllocator"/>.</summary>
internal static class NotificationStore
{
    private const string Insert = $"""
        INSERT INTO notifications (id, user_id, category, title, body, data, link, priority, created_at, expires_at)
        SELECT {IdAllocator.LastAllocatedId} + @IdBase + t.ordinal, t.user_id, t.category, t.title, t.body, t.data::jsonb, t.link, t.priority, @CreatedAt, t.expires_at
        FROM unnest(@UserIds::text[], @Categories::text[], @Titles::text[], @Bodies::text[], @Datas::text[],
                    @Links::text[], @Priorities::text[], @ExpiresAts::timestamptz[])
             WITH ORDINALITY AS t(user_id, category, title, body, data, link, priority, expires_at, ordinal)
        """;

    /// <summary>Inserts one row per recipient, in order, taking ids from <paramref name="idBase"/> (see <see cref="IdAllocator.IdBase"/>).</summary>
    public static NpgsqlBatchCommand InsertCommand(IReadOnlyList<(string UserId, ValidatedSend Send)> rows, long idBase, DateTime createdAt)
    {
        var command = new NpgsqlBatchCommand(Insert);
        command.Parameters.Add(new NpgsqlParameter<string[]>("UserIds", rows.Select(r => r.UserId).ToArray()));
        AddContent(command, rows.Select(r => r.Send).ToList(), idBase, createdAt, rows.Select(r => r.UserId).ToList());
        return command;
    }

    /// <summary>
    /// The parameters a notification and a broadcast share, one array element per row: <c>@IdBase</c>,
    /// <c>@CreatedAt</c>, <c>@Categories</c>, <c>@Titles</c>, <c>@Bodies</c>, <c>@Datas</c>, <c>@Links</c>, <c>@Priorities</c>, <c>@ExpiresAts</c>.
    /// A row's text is its recipient's (<paramref name="userIds"/>, one per row; a template send renders per locale).
    /// </summary>
    public static void AddContent(NpgsqlBatchCommand command, IReadOnlyList<ValidatedSend> sends, long idBase, DateTime createdAt, IReadOnlyList<string>? userIds = null)
    {
        var texts = sends.Select((s, i) => s.TextFor(userIds?[i])).ToList();
        command.Parameters.AddRange(new NpgsqlParameter[]
        {
            new NpgsqlParameter<long>("IdBase", idBase),
            new NpgsqlParameter<DateTime>("CreatedAt", createdAt),
            new NpgsqlParameter<string[]>("Categories", sends.Select(s => s.Category).ToArray()),
            new NpgsqlParameter<string[]>("Titles", texts.Select(t => t.Title).ToArray()),
            new NpgsqlParameter<string?[]>("Bodies", texts.Select(t => t.Body).ToArray()),
            new NpgsqlParameter<string?[]>("Datas", sends.Select(s => s.DataJson).ToArray()),
            new NpgsqlParameter<string?[]>("Links", texts.Select(t => t.Link).ToArray()),
            new NpgsqlParameter<string[]>("Priorities", sends.Select(s => s.Priority).ToArray()),
            new NpgsqlParameter<DateTime?[]>("ExpiresAts", sends.Select(s => s.ExpiresAt(createdAt)).ToArray()),
        });
    }
}
