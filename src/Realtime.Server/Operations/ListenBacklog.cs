using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;

namespace Realtime.Server.Operations;

/// <summary>
/// The listening socket's accept queue: connections the kernel has completed and Kestrel has not
/// yet accepted. Kestrel asks for 512; when a restarted node's clients all come back at once, a busy
/// node (start-up, JIT, the first resumes) accepts more slowly than they arrive, the queue overflows,
/// and the kernel drops their handshakes: each such client waits for its SYN to be sent again, 1 s,
/// then 3 s, then 7 s later (counted in <c>nstat TcpExtListenOverflows</c>). Asking for more lets the
/// kernel hold a storm's connections until they are accepted; Linux cuts the request to
/// <c>net.core.somaxconn</c> (4096 by default).
/// </summary>
internal static class ListenBacklog
{
    /// <summary>What Kestrel asks the OS for.</summary>
    internal const int Requested = 65_535;

    public static WebApplicationBuilder AddListenBacklog(this WebApplicationBuilder builder)
    {
        builder.Services.Configure<SocketTransportOptions>(sockets => sockets.Backlog = Requested);
        return builder;
    }
}
