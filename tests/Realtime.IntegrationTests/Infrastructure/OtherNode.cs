using Dapper;
using Realtime.Server.Storage;

namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>What another node would write to the shared database, without publishing anything on this node's bus.</summary>
public static class OtherNode
{
    /// <summary>
    /// Commits <paramref name="count"/> notifications for <paramref name="userId"/> the way another node would
    /// (ids taken under the id lock, in one transaction), titled "stored"; returns their ids in order.
    /// </summary>
    public static async Task<List<long>> CommitAsync(TestDatabase database, string userId, int count)
    {
        await using var connection = await database.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await connection.ExecuteAsync("SELECT pg_advisory_xact_lock(@key)", new { key = AdvisoryLocks.NotificationIds }, transaction);
        var ids = new List<long>();
        for (var i = 0; i < count; i++)
        {
            var id = await connection.ExecuteScalarAsync<long>("SELECT nextval('notification_ids')", transaction: transaction);
            await connection.ExecuteAsync(
                """
                INSERT INTO notification_contents (id, last_id, category, title, priority) VALUES (@id, @id, 'general', 'stored', 'normal');
                INSERT INTO notifications (id, content_id, user_id, created_at) VALUES (@id, @id, @userId, now());
                """,
                new { id, userId }, transaction);
            ids.Add(id);
        }
        await transaction.CommitAsync();
        return ids;
    }
}
