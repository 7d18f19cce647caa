namespace Realtime.Server.Contracts;

/// <summary>Names of the messages the server sends, the same on the hub and as SSE event names.</summary>
internal static class ClientTargets
{
    public const string Notification = "notification";
    public const string UnreadCount = "unreadCount";
    public const string NotificationRead = "notificationRead";
    public const string NotificationDeleted = "notificationDeleted";
}

internal sealed record UnreadCountMessage(int UnreadCount);

internal sealed record NotificationReadMessage(IReadOnlyList<long> Ids, bool All, long? UpTo, bool Read, int UnreadCount);

internal sealed record NotificationDeletedMessage(IReadOnlyList<long> Ids, int UnreadCount);

/// <summary>Payloads of client events that several features send.</summary>
internal static class ClientPayloads
{
    /// <summary>The <c>unreadCount</c> event's payload.</summary>
    public static RawJson UnreadCount(int unreadCount) =>
        new(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new UnreadCountMessage(unreadCount), RealtimeJsonContext.Default.UnreadCountMessage));
}
