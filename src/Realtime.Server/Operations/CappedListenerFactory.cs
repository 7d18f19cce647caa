using System.Net;
using Microsoft.AspNetCore.Connections;

namespace Realtime.Server.Operations;

/// <summary>
/// Kestrel's socket transport with the node's connection cap applied where connections are accepted:
/// a connection past the cap is closed before Kestrel sees it, so however far the thread pool is behind,
/// the sockets a node holds never pass its cap (see <see cref="ConnectionLimit"/>).
/// </summary>
internal sealed class CappedListenerFactory(IConnectionListenerFactory sockets, OpenConnections open)
    : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default) =>
        new CappedListener(await sockets.BindAsync(endpoint, cancellationToken), open);

    public bool CanBind(EndPoint endpoint) => sockets is not IConnectionListenerFactorySelector selector || selector.CanBind(endpoint);

    private sealed class CappedListener(IConnectionListener listener, OpenConnections open) : IConnectionListener
    {
        public EndPoint EndPoint => listener.EndPoint;

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            while (true)
            {
                var connection = await listener.AcceptAsync(cancellationToken);
                if (connection is null || open.TryAdmit())
                {
                    return connection;
                }
                open.Refuse(connection);
            }
        }

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default) => listener.UnbindAsync(cancellationToken);

        public ValueTask DisposeAsync() => listener.DisposeAsync();
    }
}
