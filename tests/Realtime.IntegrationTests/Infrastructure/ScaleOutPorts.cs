using System.Net;
using System.Net.Sockets;

namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>Loopback ports for the child processes (Redis, a node, nginx) that the scale-out tests start.</summary>
public static class ScaleOutPorts
{
    /// <summary>
    /// A loopback port nobody listened on a moment ago (the kernel's choice for port 0). Another
    /// process may still take it before the child binds it: callers retry a failed start on a new one.
    /// </summary>
    public static int FreeLoopbackPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    /// <summary>True when something accepts TCP connections on the loopback port.</summary>
    public static async Task<bool> IsListeningAsync(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return false;
        }
    }
}
