using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Http.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.SignalR;
using Realtime.Server.Contracts;
using Realtime.Server.Notifications;

namespace Realtime.Server.Live;

/// <summary>
/// <c>/hubs/notifications</c>: every connection joins its user's live set on this node; the client
/// calls <see cref="Resume"/> with the highest id it has seen to catch up without gap or duplicate.
/// </summary>
[Authorize]
internal sealed class NotificationsHub(
    ConnectionRegistry registry, HubConnectionOwners owners, LiveServices services, ReadStateService readState, KeepAliveScheduler keepAlives) : Hub
{
    public const string Path = "/hubs/notifications";

    public override Task OnConnectedAsync()
    {
        var http = Context.GetHttpContext();
        var connection = new HubLiveConnection(Context, LiveHubLifetimeManager.ConnectionOf(Context), TransportName(Context), services)
        {
            // Later requests on this connection (long polling, SSE transport) must come from this user.
            OwnerToken = owners.Add(http, UserId),
            UserAgent = http?.Request.Headers.UserAgent.ToString() is { Length: > 0 } agent ? agent : null,
            // The feature, not http.Connection: that would make a ConnectionInfo kept for the life of the connection.
            RemoteAddress = http?.Features.Get<IHttpConnectionFeature>()?.RemoteIpAddress,
            ConnectedAt = services.Time.GetUtcNow(),
        };
        // A connection feature, not Context.Items: the items are a dictionary made for each connection on first use.
        Context.Features.Set(connection);
        registry.Add(connection);
        keepAlives.Hub.Add(connection);
        connection.Start(Context.ConnectionAborted); // it ends with OnDisconnectedAsync: nothing awaits it
        return Task.CompletedTask;
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        if (Context.Features.Get<HubLiveConnection>() is { } connection)
        {
            if (connection.OwnerToken is { } token)
            {
                owners.Remove(token);
            }
            registry.Remove(connection);
            keepAlives.Hub.Remove(connection);
            connection.Complete();
        }
        return Task.CompletedTask;
    }

    /// <summary>Sends every notification with an id above <paramref name="afterId"/> not yet sent here; returns how many.</summary>
    public Task<int> Resume(long afterId)
    {
        if (afterId < 0)
        {
            throw new HubException("afterId must be 0 or a notification id.");
        }
        return Live.ResumeAsync(afterId, Context.ConnectionAborted);
    }

    public async Task MarkRead(long id)
    {
        if (!await readState.SetReadAsync(UserId, id, read: true, Context.ConnectionAborted))
        {
            throw NotFound(id);
        }
    }

    public async Task MarkUnread(long id)
    {
        if (!await readState.SetReadAsync(UserId, id, read: false, Context.ConnectionAborted))
        {
            throw NotFound(id);
        }
    }

    public Task MarkAllRead() => readState.ReadAllAsync(UserId, upTo: null, Context.ConnectionAborted);

    private string UserId => Context.UserIdentifier!;

    private LiveConnection Live => Context.Features.Get<HubLiveConnection>()!;

    private static HubException NotFound(long id) => new($"Notification {id} was not found.");

    private static string TransportName(HubCallerContext context) =>
        context.Features.Get<IHttpTransportFeature>()?.TransportType switch
        {
            HttpTransportType.WebSockets => "websockets",
            HttpTransportType.ServerSentEvents => "serversentevents",
            HttpTransportType.LongPolling => "longpolling",
            _ => "unknown",
        };
}
