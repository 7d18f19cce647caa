using Realtime.Server.Contracts;

namespace Realtime.Server.Bus;

/// <summary>
/// A committed id range and the notifications in it, serialized once. Ranges are contiguous and
/// follow each other in commit order; a range may hold fewer items than ids (a rolled-back batch,
/// a deleted row).
/// </summary>
internal sealed record NotificationBatch(long FirstId, long LastId, IReadOnlyList<SequencedNotification> Items);

/// <summary>One notification on its way to live connections. <see cref="UserId"/> is null for a broadcast.</summary>
internal sealed record SequencedNotification(long Id, string? UserId, DateTime CreatedAt, DateTime? ExpiresAt, RawJson Json);

/// <summary>A message for every live connection of one user (read state, unread count), serialized once.</summary>
internal sealed record UserEvent(string UserId, string Target, RawJson Payload);
