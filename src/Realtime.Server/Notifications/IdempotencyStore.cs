using Dapper;
using Npgsql;

namespace Realtime.Server.Notifications;

/// <summary>Looks up what an earlier send with the same sender and idempotency key created (keys live 24 h).</summary>
internal sealed class IdempotencyStore(NpgsqlDataSource dataSource, TimeProvider time)
{
    public static readonly TimeSpan KeyLifetime = TimeSpan.FromHours(24);

    private const string SelectKey = """
        SELECT request_hash AS RequestHash, notification_ids AS NotificationIds, user_ids AS UserIds
        FROM idempotency_keys
        WHERE sender = @Sender AND key = @Key AND created_at > @Since AND notification_ids IS NOT NULL
        """;

    public async Task<StoredSend?> FindAsync(string sender, string key, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<StoredSend>(new CommandDefinition(SelectKey,
            new { Sender = sender, Key = key, Since = time.GetUtcNow().UtcDateTime - KeyLifetime }, cancellationToken: cancellationToken));
    }
}

internal sealed class StoredSend
{
    public byte[] RequestHash { get; init; } = [];
    public long[] NotificationIds { get; init; } = [];
    public string[] UserIds { get; init; } = [];

    public IReadOnlyList<SentNotification> Notifications() =>
        NotificationIds.Zip(UserIds, (id, userId) => new SentNotification(id, userId)).ToList();
}
