using System.Diagnostics;
using Realtime.Server.Contracts;

namespace Realtime.Server.Bus;

/// <summary>
/// A committed id range and the notifications in it, serialized once. Ranges are contiguous and
/// follow each other in commit order; a range may hold fewer items than ids (a rolled-back batch,
/// a deleted row).
/// </summary>
internal sealed record NotificationBatch(long FirstId, long LastId, IReadOnlyList<SequencedNotification> Items);

/// <summary>
/// One notification on its way to live connections. <see cref="UserId"/> is null for a broadcast.
/// <see cref="Replaced"/>: the <c>notificationDeleted</c> payload of the older notifications it
/// replaced (same collapse key), sent to the user's connections right before it; null when none.
/// <see cref="Trace"/> is the span context of the request that sent it (default when it is not traced,
/// or was read from PostgreSQL): every node's delivery span joins that trace.
/// <see cref="UnreadCount"/>: the user's unread count as the commit that created it left it, sent
/// to the user's connections right after it; null when not known here (read from PostgreSQL, or
/// from another node), and then the dispatcher asks <c>UnreadCountRefresher</c> for it.
/// </summary>
internal sealed record SequencedNotification(long Id, string? UserId, DateTime CreatedAt, DateTime? ExpiresAt, RawJson Json,
    RawJson? Replaced = null, ActivityContext Trace = default)
{
    public int? UnreadCount { get; init; }
}

/// <summary>A message for every live connection of one user (read state, unread count), serialized once.</summary>
internal sealed record UserEvent(string UserId, string Target, RawJson Payload);

/// <summary>
/// Tells every node that an entry of a per-node cache changed (e.g. a user's preferences, a
/// template): drop <see cref="Key"/> from the cache named <see cref="Cache"/>. A lost message
/// only delays the change until the entry's own expiry, so caches keep entries briefly.
/// </summary>
internal sealed record CacheInvalidation(string Cache, string Key);
