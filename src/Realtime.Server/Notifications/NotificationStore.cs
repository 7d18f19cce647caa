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
    public static NpgsqlBatchCommand InsertCommand(IReadOnlyList<(string UserId, ValidatedSend Send)> rows, long idBase, DateTime createdAt) => new(Insert)
    {
        Parameters =
        {
            new NpgsqlParameter<long>("IdBase", idBase),
            new NpgsqlParameter<DateTime>("CreatedAt", createdAt),
            new NpgsqlParameter<string[]>("UserIds", rows.Select(r => r.UserId).ToArray()),
            new NpgsqlParameter<string[]>("Categories", rows.Select(r => r.Send.Category).ToArray()),
            new NpgsqlParameter<string[]>("Titles", rows.Select(r => r.Send.Title).ToArray()),
            new NpgsqlParameter<string?[]>("Bodies", rows.Select(r => r.Send.Body).ToArray()),
            new NpgsqlParameter<string?[]>("Datas", rows.Select(r => r.Send.DataJson).ToArray()),
            new NpgsqlParameter<string?[]>("Links", rows.Select(r => r.Send.Link).ToArray()),
            new NpgsqlParameter<string[]>("Priorities", rows.Select(r => r.Send.Priority).ToArray()),
            new NpgsqlParameter<DateTime?[]>("ExpiresAts", rows.Select(r => r.Send.ExpiresAt(createdAt)).ToArray()),
        },
    };
}
