using System.Net;
using System.Net.Sockets;

namespace Realtime.LoadTest.Clients;

/// <summary>
/// HTTP handlers whose connections leave from 127.0.0.2, 127.0.0.3, … (loopback targets only), so
/// tens of thousands of connections to one port do not run out of ephemeral ports on one address.
/// </summary>
internal sealed class ClientSockets : IDisposable
{
    private readonly SocketsHttpHandler[] _handlers;
    private readonly HttpClient[] _clients;

    public ClientSockets(Uri target, int sourceAddresses, int offset = 0)
    {
        var loopback = IsLoopback(target);
        var count = loopback ? Math.Max(1, sourceAddresses) : 1;
        _handlers = new SocketsHttpHandler[count];
        _clients = new HttpClient[count];
        for (var i = 0; i < count; i++)
        {
            var local = loopback ? new IPAddress([127, 0, 0, (byte)(2 + (i + offset) % 250)]) : null;
            _handlers[i] = Handler(local, loopback ? new IPEndPoint(target.Host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(target.Host), target.Port) : null);
            _clients[i] = new HttpClient(_handlers[i], disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
        }
    }

    public HttpMessageInvoker Invoker(int index) => _clients[index % _clients.Length];

    public HttpClient Http(int index) => _clients[index % _clients.Length];

    public static bool IsLoopback(Uri uri) =>
        uri.IsLoopback && (uri.Host == "localhost" || IPAddress.TryParse(uri.Host, out var a) && a.AddressFamily == AddressFamily.InterNetwork);

    /// <summary>
    /// Connections a sender opens to a node at most, by default. The node holds the scenario's clients
    /// too, and a process here may hold 20,000 descriptors: with 1,024, a latency run at 19,000 clients
    /// took the baseline (which has no connection cap) past its limit whenever answers stalled and the
    /// pool grew ("Out of memory." from its runtime). 256 carry 1,000 sends/s at up to 256 ms an answer;
    /// past that sends wait here, and that wait is in their measured latency.
    /// </summary>
    public const int ApiConnections = 256;

    /// <summary>A handler for API calls (sends): up to <paramref name="maxConnections"/> pooled connections, no source binding.</summary>
    public static SocketsHttpHandler ApiHandler(int maxConnections = ApiConnections) => new()
    {
        MaxConnectionsPerServer = maxConnections,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
        ConnectTimeout = TimeSpan.FromSeconds(10),
        UseCookies = false,
    };

    private static SocketsHttpHandler Handler(IPAddress? local, IPEndPoint? remote) => new()
    {
        MaxConnectionsPerServer = int.MaxValue,
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        ConnectTimeout = TimeSpan.FromSeconds(30),
        UseCookies = false,
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                if (local is not null)
                {
                    socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                    socket.Bind(new IPEndPoint(local, 0));
                    await socket.ConnectAsync(remote!, cancellationToken);
                }
                else
                {
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                }
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };

    public void Dispose()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }
        foreach (var handler in _handlers)
        {
            handler.Dispose();
        }
    }
}
