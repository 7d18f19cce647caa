using Realtime.Server.Contracts;

namespace Realtime.Server.Notifications;

/// <summary>A row of <c>notifications</c> as Dapper reads it.</summary>
internal sealed class NotificationRow
{
    /// <summary>The columns of a user's own notification.</summary>
    public const string Columns = "id, user_id, category, title, body, data::text AS data, link, priority, created_at, expires_at, read_at, false AS broadcast, collapse_key";

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
