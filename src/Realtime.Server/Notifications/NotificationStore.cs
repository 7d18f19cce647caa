using Npgsql;
using Realtime.Server.Storage;

namespace Realtime.Server.Notifications;

/// <summary>
/// Stores users' own notifications: each distinct content once (<c>notification_contents</c>) and
/// one small row per recipient (<c>notifications</c>: its id, user, state and content), with ids
/// from <see cref="IdAllocator"/>. A content's id is the id of the first recipient row that refers
/// to it and its <c>last_id</c> that of the last (see migration 0005).
/// </summary>
internal static class NotificationStore
{
    private const string InsertContents = $"""
        INSERT INTO notification_contents (id, last_id, category, title, body, data, link, priority)
        SELECT {IdAllocator.LastAllocatedId} + @IdBase + t.first, {IdAllocator.LastAllocatedId} + @IdBase + t.last,
               t.category, t.title, t.body, t.data::jsonb, t.link, t.priority
        FROM unnest(@Firsts::int[], @Lasts::int[], @Categories::text[], @Titles::text[], @Bodies::text[], @Datas::text[],
                    @Links::text[], @Priorities::text[])
             AS t(first, last, category, title, body, data, link, priority)
        """;

    /// <summary>Each recipient row names its content by its (1-based) index in the contents' arrays.</summary>
    private const string InsertRecipients = $"""
        INSERT INTO notifications (id, content_id, created_at, expires_at, user_id, collapse_key)
        SELECT {IdAllocator.LastAllocatedId} + @IdBase + t.ordinal, {IdAllocator.LastAllocatedId} + @IdBase + (@Firsts::int[])[t.content],
               @CreatedAt, t.expires_at, t.user_id, t.collapse_key
        FROM unnest(@UserIds::text[], @Contents::int[], @ExpiresAts::timestamptz[], @CollapseKeys::text[])
             WITH ORDINALITY AS t(user_id, content, expires_at, collapse_key, ordinal)
        """;

    /// <summary>
    /// Inserts <paramref name="contents"/> once each and one row per recipient of
    /// <paramref name="rows"/>, in order, taking ids from <paramref name="idBase"/> (see
    /// <see cref="IdAllocator.IdBase"/>). Returns the two commands, contents first; the second's
    /// <c>RecordsAffected</c> is the number of notifications. Every content must have a row.
    /// </summary>
    public static (NpgsqlBatchCommand Contents, NpgsqlBatchCommand Recipients) InsertCommands(
        IReadOnlyList<NotificationContent> contents, IReadOnlyList<NotificationRecipient> rows, long idBase, DateTime createdAt)
    {
        var firsts = new int[contents.Count];
        var lasts = new int[contents.Count];
        var indexes = new int[rows.Count];
        for (var i = 0; i < rows.Count; i++)
        {
            var content = rows[i].Content;
            if (firsts[content] == 0)
            {
                firsts[content] = i + 1;
            }
            lasts[content] = i + 1;
            indexes[i] = content + 1;
        }
        if (Array.IndexOf(firsts, 0) >= 0)
        {
            throw new ArgumentException("Every content needs at least one recipient row.", nameof(contents));
        }

        var insertContents = new NpgsqlBatchCommand(InsertContents);
        insertContents.Parameters.Add(new NpgsqlParameter<long>("IdBase", idBase));
        insertContents.Parameters.Add(new NpgsqlParameter<int[]>("Firsts", firsts));
        insertContents.Parameters.Add(new NpgsqlParameter<int[]>("Lasts", lasts));
        AddContentColumns(insertContents, contents);

        var userIds = new string[rows.Count];
        var expiresAts = new DateTime?[rows.Count];
        var collapseKeys = new string?[rows.Count];
        for (var i = 0; i < rows.Count; i++)
        {
            (userIds[i], expiresAts[i], collapseKeys[i]) = (rows[i].UserId, rows[i].ExpiresAt, rows[i].CollapseKey);
        }
        var insertRecipients = new NpgsqlBatchCommand(InsertRecipients)
        {
            Parameters =
            {
                new NpgsqlParameter<long>("IdBase", idBase),
                new NpgsqlParameter<int[]>("Firsts", firsts),
                new NpgsqlParameter<DateTime>("CreatedAt", createdAt),
                new NpgsqlParameter<string[]>("UserIds", userIds),
                new NpgsqlParameter<int[]>("Contents", indexes),
                new NpgsqlParameter<DateTime?[]>("ExpiresAts", expiresAts),
                new NpgsqlParameter<string?[]>("CollapseKeys", collapseKeys),
            },
        };
        return (insertContents, insertRecipients);
    }

    /// <summary>
    /// The parameters of a broadcast, one array element per row: <c>@IdBase</c>, <c>@CreatedAt</c>,
    /// <c>@Categories</c>, <c>@Titles</c>, <c>@Bodies</c>, <c>@Datas</c>, <c>@Links</c>, <c>@Priorities</c>, <c>@ExpiresAts</c>.
    /// </summary>
    public static void AddContent(NpgsqlBatchCommand command, IReadOnlyList<ValidatedSend> sends, long idBase, DateTime createdAt)
    {
        command.Parameters.Add(new NpgsqlParameter<long>("IdBase", idBase));
        command.Parameters.Add(new NpgsqlParameter<DateTime>("CreatedAt", createdAt));
        AddContentColumns(command, sends.Select(s => s.ContentFor(null)).ToList());
        command.Parameters.Add(new NpgsqlParameter<DateTime?[]>("ExpiresAts", sends.Select(s => s.ExpiresAt(createdAt)).ToArray()));
    }

    /// <summary><c>@Categories</c>, <c>@Titles</c>, <c>@Bodies</c>, <c>@Datas</c>, <c>@Links</c>, <c>@Priorities</c>: one element per content.</summary>
    private static void AddContentColumns(NpgsqlBatchCommand command, IReadOnlyList<NotificationContent> contents) =>
        command.Parameters.AddRange(new NpgsqlParameter[]
        {
            new NpgsqlParameter<string[]>("Categories", contents.Select(c => c.Category).ToArray()),
            new NpgsqlParameter<string[]>("Titles", contents.Select(c => c.Title).ToArray()),
            new NpgsqlParameter<string?[]>("Bodies", contents.Select(c => c.Body).ToArray()),
            new NpgsqlParameter<string?[]>("Datas", contents.Select(c => c.DataJson).ToArray()),
            new NpgsqlParameter<string?[]>("Links", contents.Select(c => c.Link).ToArray()),
            new NpgsqlParameter<string[]>("Priorities", contents.Select(c => c.Priority).ToArray()),
        });
}

/// <summary>
/// What a notification shows, stored once however many recipients show it (a row of
/// <c>notification_contents</c>). Equal contents of one transaction share one row.
/// </summary>
internal sealed record NotificationContent(string Category, string Title, string? Body, string? DataJson, string? Link, string Priority);

/// <summary>
/// One recipient row: the user, the index of its content in the transaction's contents, its expiry
/// and its collapse key (per recipient: a key replaces only that user's own older notification).
/// </summary>
internal readonly record struct NotificationRecipient(string UserId, int Content, DateTime? ExpiresAt, string? CollapseKey);
