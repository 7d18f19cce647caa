using System.Text.Json;
using Realtime.Server.Bus;
using Realtime.Server.Contracts;

namespace Realtime.Server.Notifications;

/// <summary>
/// Read, unread, read-all and delete, from REST or the hub: changes the inbox, then tells every
/// open connection of that user, on every node, so all tabs and devices stay in step.
/// </summary>
internal sealed partial class ReadStateService(InboxStore inbox, IMessageBus bus, ILogger<ReadStateService> logger)
{
    /// <summary>False when the notification is not the user's (or has expired).</summary>
    public async Task<bool> SetReadAsync(string userId, long id, bool read, CancellationToken cancellationToken)
    {
        var change = await inbox.SetReadAsync(userId, id, read, cancellationToken);
        if (change is null)
        {
            return false;
        }
        if (change.Changed > 0)
        {
            await PublishReadAsync(userId, new NotificationReadMessage([id], All: false, UpTo: null, read, change.UnreadCount));
        }
        return true;
    }

    public async Task ReadAllAsync(string userId, long? upTo, CancellationToken cancellationToken)
    {
        var change = await inbox.ReadAllAsync(userId, upTo, cancellationToken);
        if (change.Changed > 0)
        {
            await PublishReadAsync(userId, new NotificationReadMessage([], All: true, upTo, Read: true, change.UnreadCount));
        }
    }

    /// <summary>False when the notification is not the user's (or has expired).</summary>
    public async Task<bool> DeleteAsync(string userId, long id, CancellationToken cancellationToken)
    {
        var change = await inbox.DeleteAsync(userId, id, cancellationToken);
        if (change is null)
        {
            return false;
        }
        await PublishAsync(new UserEvent(userId, ClientTargets.NotificationDeleted, new RawJson(
            JsonSerializer.SerializeToUtf8Bytes(new NotificationDeletedMessage([id], change.UnreadCount), RealtimeJsonContext.Default.NotificationDeletedMessage))));
        if (change.Changed > 0)
        {
            await PublishAsync(new UserEvent(userId, ClientTargets.UnreadCount, ClientPayloads.UnreadCount(change.UnreadCount)));
        }
        return true;
    }

    private async Task PublishReadAsync(string userId, NotificationReadMessage message)
    {
        await PublishAsync(new UserEvent(userId, ClientTargets.NotificationRead, new RawJson(
            JsonSerializer.SerializeToUtf8Bytes(message, RealtimeJsonContext.Default.NotificationReadMessage))));
        await PublishAsync(new UserEvent(userId, ClientTargets.UnreadCount, ClientPayloads.UnreadCount(message.UnreadCount)));
    }

    private async Task PublishAsync(UserEvent userEvent)
    {
        try
        {
            await bus.PublishAsync(userEvent, CancellationToken.None);
        }
        catch (Exception ex)
        {
            // The change is committed; connections on other nodes see it on their next inbox read.
            LogPublishFailed(logger, userEvent.Target, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Publishing a {Target} event failed")]
    private static partial void LogPublishFailed(ILogger logger, string target, Exception exception);
}
