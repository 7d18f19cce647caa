using Dapper;
using Npgsql;
using Realtime.Server.Storage;

namespace Realtime.Server.Notifications;

/// <summary>
/// Every statement on <c>idempotency_keys</c>: claiming keys in the committing transaction,
/// recording the ids a key created, looking up an earlier send, and purging keys past their 24 h.
/// </summary>
internal sealed class IdempotencyStore(NpgsqlDataSource dataSource, TimeProvider time)
{
    public static readonly TimeSpan KeyLifetime = TimeSpan.FromHours(24);

    private const int PurgeBatch = 10_000;

    private const string SelectKey = """
        SELECT request_hash AS RequestHash, notification_ids AS NotificationIds, user_ids AS UserIds
        FROM idempotency_keys
        WHERE sender = @Sender AND key = @Key AND created_at > @Since AND notification_ids IS NOT NULL
        """;

    /// <summary>Claims each key not held by a live (younger than 24 h) earlier send; returns the keys claimed.</summary>
    private const string ClaimKeys = """
        INSERT INTO idempotency_keys AS k (sender, key, request_hash, created_at)
        SELECT t.sender, t.key, t.request_hash, @Now
        FROM unnest(@Senders::text[], @Keys::text[], @Hashes::bytea[]) AS t(sender, key, request_hash)
        ORDER BY t.sender, t.key
        ON CONFLICT (sender, key) DO UPDATE
            SET request_hash = EXCLUDED.request_hash, created_at = EXCLUDED.created_at, notification_ids = NULL, user_ids = NULL
            WHERE k.created_at <= @StaleBefore
        RETURNING sender AS Sender, key AS Key
        """;

    /// <summary>Stores, per claimed key, the ids it created (one input row per notification, grouped here).</summary>
    private const string RecordResults = $"""
        UPDATE idempotency_keys k SET notification_ids = t.ids, user_ids = t.user_ids
        FROM (
            SELECT r.sender, r.key, array_agg(r.id ORDER BY r.id) AS ids, array_agg(r.user_id ORDER BY r.id) AS user_ids
            FROM (SELECT sender, key, {IdAllocator.LastAllocatedId} + @IdBase + position AS id, user_id
                  FROM unnest(@Senders::text[], @Keys::text[], @Positions::bigint[], @Recipients::text[]) AS u(sender, key, position, user_id)) r
            GROUP BY r.sender, r.key) t
        WHERE k.sender = t.sender AND k.key = t.key
        """;

    /// <summary>
    /// A send that created nothing (preferences suppressed every recipient) still holds its key, with
    /// no ids, so a retry answers the same; claimed as <see cref="ClaimKeys"/> claims.
    /// </summary>
    private const string ClaimEmpty = """
        INSERT INTO idempotency_keys AS k (sender, key, request_hash, created_at, notification_ids, user_ids)
        VALUES (@Sender, @Key, @Hash, @Now, '{}', '{}')
        ON CONFLICT (sender, key) DO UPDATE
            SET request_hash = EXCLUDED.request_hash, created_at = EXCLUDED.created_at, notification_ids = '{}', user_ids = '{}'
            WHERE k.created_at <= @StaleBefore
        """;

    private const string DeleteOld = """
        DELETE FROM idempotency_keys
        WHERE ctid IN (SELECT ctid FROM idempotency_keys WHERE created_at <= @Before LIMIT @Keys)
        """;

    public async Task<StoredSend?> FindAsync(string sender, string key, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<StoredSend>(new CommandDefinition(SelectKey,
            new { Sender = sender, Key = key, Since = time.GetUtcNow().UtcDateTime - KeyLifetime }, cancellationToken: cancellationToken));
    }

    /// <summary>Records a send that created nothing under its key; false when the key is held by an earlier send (look that up).</summary>
    public async Task<bool> ClaimEmptyAsync(string sender, string key, byte[] requestHash, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(ClaimEmpty,
            new { Sender = sender, Key = key, Hash = requestHash, Now = now, StaleBefore = now - KeyLifetime }, cancellationToken: cancellationToken)) == 1;
    }

    /// <summary>
    /// In the committing transaction, before the id lock: claims the keys; returns those claimed
    /// (<paramref name="async"/> false: synchronously, the task returned has completed).
    /// </summary>
    public static async Task<HashSet<(string Sender, string Key)>> ClaimAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<(string Sender, string Key, byte[] Hash)> keys, DateTime now, bool async)
    {
        if (keys.Count == 0)
        {
            return [];
        }
        var command = new CommandDefinition(ClaimKeys, new
        {
            Now = now,
            StaleBefore = now - KeyLifetime,
            Senders = keys.Select(k => k.Sender).ToArray(),
            Keys = keys.Select(k => k.Key).ToArray(),
            Hashes = keys.Select(k => k.Hash).ToArray(),
        }, transaction);
        var claimed = async ? await connection.QueryAsync<(string Sender, string Key)>(command) : connection.Query<(string Sender, string Key)>(command);
        return claimed.ToHashSet();
    }

    /// <summary>
    /// Records which ids each key created: one entry per notification, at its position (1-based) in
    /// the allocation that <paramref name="idBase"/> belongs to (see <see cref="IdAllocator.IdBase"/>).
    /// </summary>
    public static NpgsqlBatchCommand RecordResultsCommand(IReadOnlyList<(string Sender, string Key, long Position, string UserId)> created, long idBase) => new(RecordResults)
    {
        Parameters =
        {
            new NpgsqlParameter<long>("IdBase", idBase),
            new NpgsqlParameter<string[]>("Senders", created.Select(c => c.Sender).ToArray()),
            new NpgsqlParameter<string[]>("Keys", created.Select(c => c.Key).ToArray()),
            new NpgsqlParameter<long[]>("Positions", created.Select(c => c.Position).ToArray()),
            new NpgsqlParameter<string[]>("Recipients", created.Select(c => c.UserId).ToArray()),
        },
    };

    /// <summary>Deletes keys older than <see cref="KeyLifetime"/>, in batches; returns how many.</summary>
    public static async Task<int> PurgeExpiredAsync(NpgsqlDataSource dataSource, DateTime now, CancellationToken cancellationToken)
    {
        int deleted, total = 0;
        do
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            deleted = await connection.ExecuteAsync(new CommandDefinition(DeleteOld,
                new { Before = now - KeyLifetime, Keys = PurgeBatch }, cancellationToken: cancellationToken));
            total += deleted;
        }
        while (deleted == PurgeBatch);
        return total;
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
