using System.Threading.Channels;
using Realtime.Server.Contracts;
using Realtime.Server.Notifications;

namespace Realtime.Server.Live;

/// <summary>
/// Sends <c>unreadCount</c> to connected users after new notifications. Requests are coalesced:
/// a burst for many users costs one query, and a burst for one user one message.
/// </summary>
internal sealed partial class UnreadCountRefresher(ConnectionRegistry registry, InboxStore inbox, ILogger<UnreadCountRefresher> logger) : BackgroundService
{
    private const int MaxUsersPerQuery = 1_000;
    private readonly Channel<string> _requests = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });

    public void Request(string userId) => _requests.Writer.TryWrite(userId);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var users = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            while (await _requests.Reader.WaitToReadAsync(stoppingToken))
            {
                users.Clear();
                while (users.Count < MaxUsersPerQuery && _requests.Reader.TryRead(out var userId))
                {
                    users.Add(userId);
                }
                await RefreshAsync(users, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RefreshAsync(HashSet<string> users, CancellationToken cancellationToken)
    {
        users.RemoveWhere(u => registry.ForUser(u).IsEmpty);
        if (users.Count == 0)
        {
            return;
        }
        try
        {
            var counts = await inbox.UnreadCountsAsync(users, cancellationToken);
            foreach (var (userId, unread) in counts)
            {
                var payload = ClientPayloads.UnreadCount(unread);
                foreach (var connection in registry.ForUser(userId))
                {
                    connection.EnqueueEvent(ClientTargets.UnreadCount, payload);
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogRefreshFailed(logger, users.Count, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not refresh unread counts of {UserCount} users")]
    private static partial void LogRefreshFailed(ILogger logger, int userCount, Exception exception);
}
