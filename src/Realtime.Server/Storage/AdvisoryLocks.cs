namespace Realtime.Server.Storage;

/// <summary>PostgreSQL advisory lock keys, in one place so that no two features pick the same.</summary>
internal static class AdvisoryLocks
{
    /// <summary>Held (transaction-scoped) while notification ids are allocated and until commit, so ids grow in commit order.</summary>
    public const long NotificationIds = 0x72742D6964730001;

    /// <summary>Held (transaction-scoped) by the one node at a time that sweeps dead nodes' connections.</summary>
    public const long PresenceHousekeeping = 0x72742D7072730001;
}
