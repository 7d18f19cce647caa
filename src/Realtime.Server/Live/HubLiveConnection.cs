using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Realtime.Server.Contracts;

namespace Realtime.Server.Live;

/// <summary>
/// A SignalR connection. Messages are written straight into its <see cref="HubConnectionContext"/>
/// (no lookup by id per message); a notification (or a run of them) as the <see cref="SerializedHubMessage"/>
/// every connection shares, so it is serialized once per hub protocol on this node, not once per connection.
/// </summary>
internal sealed class HubLiveConnection(HubCallerContext context, HubConnectionContext connection, string transport, LiveServices services)
    : LiveConnection(context.ConnectionId, context.UserIdentifier!, transport, services)
{
    /// <summary>The connection token its later requests carry (long polling, SignalR's SSE transport); null on WebSockets without negotiation.</summary>
    public string? OwnerToken { get; init; }

    protected override ValueTask WriteAsync(string target, RawJson payload, long? id, CancellationToken cancellationToken) =>
        connection.WriteAsync(NotificationFrames.HubInvocation(target, payload), cancellationToken);

    protected override ValueTask WriteNotificationAsync(NotificationFrames frames, CancellationToken cancellationToken) =>
        connection.WriteAsync(frames.HubFor(connection.Protocol), cancellationToken);

    protected override ValueTask WriteEventAsync(EventFrames userEvent, CancellationToken cancellationToken) =>
        connection.WriteAsync(userEvent.Hub, cancellationToken);

    /// <summary>SignalR's ping, in the connection's protocol (written straight into its pipe: no bytes made per ping).</summary>
    protected override ValueTask WriteKeepAliveAsync(CancellationToken cancellationToken) =>
        connection.WriteAsync(PingMessage.Instance, cancellationToken);

    /// <summary>
    /// Aborts the HTTP connection as well: SignalR alone would first try to send its close message
    /// into the stuck client's full pipe and hold the connection until its send timeout.
    /// </summary>
    public override void Close()
    {
        context.GetHttpContext()?.Abort();
        context.Abort();
    }
}

/// <summary>
/// SignalR's own lifetime manager (this node's connections, <c>Clients.*</c>), which also leaves
/// each <see cref="HubConnectionContext"/> in the connection's features, for <see cref="HubLiveConnection"/>
/// to write to directly. It runs before the hub's <c>OnConnectedAsync</c>.
/// </summary>
internal sealed class LiveHubLifetimeManager(ILogger<DefaultHubLifetimeManager<NotificationsHub>> logger)
    : DefaultHubLifetimeManager<NotificationsHub>(logger)
{
    /// <summary>A feature of the connection (its items would be a dictionary made for each connection).</summary>
    public override Task OnConnectedAsync(HubConnectionContext connection)
    {
        connection.Features.Set(connection);
        return base.OnConnectedAsync(connection);
    }

    public override Task OnDisconnectedAsync(HubConnectionContext connection)
    {
        connection.Features.Set<HubConnectionContext>(null);
        return base.OnDisconnectedAsync(connection);
    }

    /// <summary>The connection behind a hub's <see cref="HubCallerContext"/>.</summary>
    public static HubConnectionContext ConnectionOf(HubCallerContext context) =>
        context.Features.Get<HubConnectionContext>()
        ?? throw new InvalidOperationException($"The hub's lifetime manager is not {nameof(LiveHubLifetimeManager)}.");
}
