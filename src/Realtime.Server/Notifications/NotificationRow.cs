using Realtime.Server.Contracts;

namespace Realtime.Server.Notifications;

/// <summary>A notification (a row of <c>notifications</c> with its content, or a broadcast) as Dapper reads it.</summary>
internal sealed class NotificationRow
{
    /// <summary>SQL (a FROM item): users' own notifications as <c>n</c>, each with its content <c>c</c> (stored once per send).</summary>
    public const string Source = "notifications n JOIN notification_contents c ON c.id = n.content_id";

    /// <summary>The columns of a user's own notification, read from <see cref="Source"/>.</summary>
    public const string Columns = "n.id, n.user_id, c.category, c.title, c.body, c.data::text AS data, c.link, c.priority, n.created_at, n.expires_at, n.read_at, false AS broadcast, n.collapse_key";

    /// <summary>The same columns for a broadcast <c>b</c>, with the reader's receipt <c>r</c> (read state) joined.</summary>
    public const string BroadcastColumns = "b.id, NULL::text AS user_id, b.category, b.title, b.body, b.data::text AS data, b.link, b.priority, b.created_at, b.expires_at, r.read_at, true AS broadcast, NULL::text AS collapse_key";

    public long Id { get; init; }
    public string? UserId { get; init; }
    public string Category { get; init; } = "";
    public string Title { get; init; } = "";
    public string? Body { get; init; }
    public string? Data { get; init; }
    public string? Link { get; init; }
    public string Priority { get; init; } = NotificationPriority.Normal;
    public DateTime CreatedAt { get; init; }
    public DateTime? ExpiresAt { get; init; }
    public DateTime? ReadAt { get; init; }
    public bool Broadcast { get; init; }
    public string? CollapseKey { get; init; }

    public Notification ToNotification() => new(
        Id, UserId, Category, Title, Body, Data is null ? null : RawJson.FromText(Data), Link, Priority,
        Broadcast, CreatedAt, ExpiresAt, ReadAt, CollapseKey);
}
