using Npgsql;

namespace Realtime.Server.Storage;

/// <summary>
/// The one place notification and broadcast ids come from: <c>notification_ids</c> (CACHE 1),
/// allocated under the transaction-scoped advisory lock <see cref="AdvisoryLocks.NotificationIds"/>
/// taken right before <c>nextval</c> and held until COMMIT, so ids grow in commit order.
/// </summary>
/// <remarks>
/// The allocating statement is the first of a batch; the inserts that follow it in the same batch
/// (one round trip) compute their ids from <see cref="LastAllocatedId"/>: id = last + @IdBase + ordinal,
/// where <c>@IdBase</c> comes from <see cref="IdBase"/>.
/// </remarks>
internal static class IdAllocator
{
    /// <summary>SQL: the last id this session allocated (exact: <c>currval</c> is per session).</summary>
    public const string LastAllocatedId = "currval('notification_ids')";

    private const string LockAndAllocate = """
        WITH locked AS MATERIALIZED (
            SELECT pg_advisory_xact_lock(@LockKey))
        SELECT setval('notification_ids', nextval('notification_ids') + @Count - 1) - @Count + 1 AS first_id FROM locked
        """;

    /// <summary>Takes the lock and allocates <paramref name="count"/> contiguous ids; its one row is the first id.</summary>
    public static NpgsqlBatchCommand Allocate(int count) => new(LockAndAllocate)
    {
        Parameters =
        {
            new NpgsqlParameter<long>("LockKey", AdvisoryLocks.NotificationIds),
            new NpgsqlParameter<long>("Count", count),
        },
    };

    /// <summary>
    /// The <c>@IdBase</c> of rows that start at position <paramref name="offset"/> (0-based) of an
    /// allocation of <paramref name="count"/> ids: the row of ordinal k (1-based) gets last + base + k.
    /// </summary>
    public static long IdBase(int offset, int count) => offset - count;
}
