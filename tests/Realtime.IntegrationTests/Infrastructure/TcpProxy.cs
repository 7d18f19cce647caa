using System.Net;
using System.Net.Sockets;

namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>
/// A loopback TCP proxy to one target: an outage on demand. <see cref="StopAsync"/> closes the listener and resets
/// every open connection (so the client sees its pooled connections drop and new ones refused);
/// <see cref="Start"/> listens again on the same port.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private const int BufferSize = 16 * 1024;

    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly Lock _gate = new();
    private readonly HashSet<Socket> _sockets = [];
    private readonly HashSet<Task> _connections = [];
    private Socket? _listener;
    private Task? _acceptLoop;

    public TcpProxy(string targetHost, int targetPort)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
    }

    /// <summary>The loopback port the proxy listens on (chosen at the first <see cref="Start"/>, kept afterwards).</summary>
    public int Port { get; private set; }

    /// <summary>Starts listening: on a free port the first time, on the same port after <see cref="StopAsync"/>.</summary>
    public void Start()
    {
        lock (_gate)
        {
            if (_listener is not null)
            {
                throw new InvalidOperationException("The proxy is already running.");
            }
            var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                // Connections closed by the proxy may linger in TIME_WAIT on this port.
                listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                listener.Bind(new IPEndPoint(IPAddress.Loopback, Port));
                listener.Listen();
            }
            catch
            {
                listener.Dispose();
                throw;
            }
            Port = ((IPEndPoint)listener.LocalEndPoint!).Port;
            _listener = listener;
            _acceptLoop = AcceptLoopAsync(listener);
        }
    }

    /// <summary>Stops listening and resets every connection; completes once they are all gone.</summary>
    public async Task StopAsync()
    {
        Task? acceptLoop;
        Socket[] open;
        Task[] connections;
        lock (_gate)
        {
            _listener?.Dispose();
            _listener = null;
            acceptLoop = _acceptLoop;
            _acceptLoop = null;
            open = [.. _sockets];
            connections = [.. _connections];
        }
        foreach (var socket in open)
        {
            Reset(socket);
        }
        await Task.WhenAll(connections.Append(acceptLoop ?? Task.CompletedTask));
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync();
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return; // stopped
            }
            lock (_gate)
            {
                if (_listener != listener)
                {
                    Reset(client); // accepted while stopping
                    return;
                }
                var connection = RelayAsync(client);
                _connections.Add(connection);
                _ = connection.ContinueWith(done => { lock (_gate) _connections.Remove(done); }, TaskScheduler.Default);
            }
        }
    }

    /// <summary>Connects to the target and copies both ways until either side ends; then resets both.</summary>
    private async Task RelayAsync(Socket client)
    {
        await Task.Yield();
        var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (!Track(client) || !Track(upstream))
        {
            Reset(client);
            Reset(upstream);
            return;
        }
        try
        {
            await upstream.ConnectAsync(_targetHost, _targetPort);
            await Task.WhenAny(CopyAsync(client, upstream), CopyAsync(upstream, client));
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException or OperationCanceledException)
        {
            // The target refused, or the proxy stopped meanwhile.
        }
        finally
        {
            Untrack(client);
            Untrack(upstream);
            Reset(client);
            Reset(upstream);
        }
    }

    private static async Task CopyAsync(Socket from, Socket to)
    {
        var buffer = new byte[BufferSize];
        try
        {
            int read;
            while ((read = await from.ReceiveAsync(buffer, SocketFlags.None)) > 0)
            {
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Reset by either side or by StopAsync.
        }
    }

    private bool Track(Socket socket)
    {
        lock (_gate)
        {
            if (_listener is null)
            {
                return false;
            }
            _sockets.Add(socket);
            return true;
        }
    }

    private void Untrack(Socket socket)
    {
        lock (_gate)
        {
            _sockets.Remove(socket);
        }
    }

    /// <summary>Closes abortively (RST, no TIME_WAIT): the peer learns at once that the connection is gone.</summary>
    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Never connected, or already closed.
        }
        socket.Dispose();
    }
}
