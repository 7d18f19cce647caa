using Realtime.Server.Contracts;

namespace Realtime.Server.Notifications;

internal sealed record InboxPage(IReadOnlyList<Notification> Items, int UnreadCount, long? NextBefore);

internal sealed record UnreadCountResponse(int UnreadCount);

internal sealed record ReadAllRequest(long? UpTo);
