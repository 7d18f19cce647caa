namespace Realtime.Server.Contracts;

/// <summary>The notification object of the contract: every field always present, null when empty.</summary>
internal sealed record Notification(
    long Id,
    string? UserId,
    string Category,
    string Title,
    string? Body,
    RawJson? Data,
    string? Link,
    string Priority,
    bool Broadcast,
    DateTime CreatedAt,
    DateTime? ExpiresAt,
    DateTime? ReadAt,
    string? CollapseKey);

internal static class NotificationPriority
{
    public const string Low = "low";
    public const string Normal = "normal";
    public const string High = "high";
    public const string Urgent = "urgent";

    public static readonly string[] All = [Low, Normal, High, Urgent];

    /// <summary>Accepts any case, answers the lowercase name, or null when unknown.</summary>
    public static string? Normalize(string value) =>
        All.FirstOrDefault(p => string.Equals(p, value, StringComparison.OrdinalIgnoreCase));
}
