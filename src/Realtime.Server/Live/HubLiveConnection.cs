using Microsoft.AspNetCore.SignalR;
using Realtime.Server.Contracts;

namespace Realtime.Server.Live;

/// <summary>A SignalR connection. Payloads are pre-serialized JSON, written into the invocation as objects.</summary>
internal sealed class HubLiveConnection(HubCallerContext context, IHubContext<NotificationsHub> hub, string transport, LiveServices services)
    : LiveConnection(context.ConnectionId, context.UserIdentifier!, transport, services)
{
    protected override ValueTask WriteAsync(string target, RawJson payload, long? id, CancellationToken cancellationToken) =>
        new(hub.Clients.Client(Id).SendAsync(target, payload, cancellationToken));

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
