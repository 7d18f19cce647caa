using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Npgsql;
using Realtime.Server.Storage;

namespace Realtime.Server.Operations;

/// <summary>
/// Kestrel's cap on concurrent connections (none by default): the process's file-descriptor limit
/// (<c>ulimit -n</c>) less what the node needs for itself. Without it a
/// node at its limit (a reconnect storm) fails <c>accept</c> with EMFILE, and then everything else
/// that needs a descriptor fails too: PostgreSQL connections (which .NET reports as "Too many open
/// files in system") and, fatally, a new runtime thread, which needs a pipe to start: the process
/// aborts with "Out of memory.". Past the cap a connection is closed as it is accepted, in the accept
/// loop itself (<see cref="CappedListenerFactory"/>), and the client retries.
/// </summary>
/// <remarks>
/// Not Kestrel's own <c>MaxConcurrentConnections</c>: its middleware waits in an async frame for the
/// life of every connection (168 bytes per idle connection). And not a refusal in connection middleware
/// either: middleware runs on the thread pool, and a loaded node (a storm, a cold start) accepts far
/// faster than its thread pool gets to each connection, so accepted sockets piled up past the limit
/// before any was refused and the node aborted all the same. <see cref="OpenConnections"/> counts them
/// from Kestrel's <c>kestrel.active_connections</c> plus those accepted and not yet started, and holds nothing per connection.
/// </remarks>
internal static class ConnectionLimit
{
    /// <summary>Held by an idle node (measured: ~370: the assemblies the runtime keeps open, epoll, pipes, the log).</summary>
    internal const int HeldAtIdle = 400;

    /// <summary>Redis, outgoing push requests, a thread starting, a connection accepted only to be refused.</summary>
    internal const int Headroom = 100;

    private const string LimitsFile = "/proc/self/limits";

    public static WebApplicationBuilder AddConnectionLimit(this WebApplicationBuilder builder)
    {
        var descriptors = DescriptorLimit();
        if (descriptors is null)
        {
            return builder;
        }
        var pool = new NpgsqlConnectionStringBuilder(builder.Configuration.GetConnectionString(StorageSetup.ConnectionStringName) ?? "").MaxPoolSize;
        var limit = For(descriptors.Value, pool);
        builder.Services.AddSingleton(services => new OpenConnections(services.GetRequiredService<IMeterFactory>(), limit, services.GetRequiredService<ILogger<OpenConnections>>()));
        // Registered after Kestrel's own socket transport, so Kestrel binds with this one (it takes the last that can bind).
        builder.Services.AddSingleton<IConnectionListenerFactory>(services => new CappedListenerFactory(
            ActivatorUtilities.CreateInstance<SocketTransportFactory>(services), services.GetRequiredService<OpenConnections>()));
        builder.Services.AddOptions<KestrelServerOptions>().Configure<OpenConnections>(
            (kestrel, open) => kestrel.ConfigureEndpointDefaults(listen => listen.Use(open.Started)));
        return builder;
    }

    /// <summary>Connections a node with <paramref name="descriptors"/> file descriptors and a PostgreSQL pool of <paramref name="postgresPool"/> can hold (at least 1).</summary>
    internal static long For(long descriptors, int postgresPool) => Math.Max(1, descriptors - HeldAtIdle - postgresPool - Headroom);

    /// <summary>The soft limit on open files (<c>ulimit -n</c>) where the OS tells it (Linux), else null (no cap set).</summary>
    internal static long? DescriptorLimit()
    {
        try
        {
            return File.Exists(LimitsFile) ? ParseLimits(File.ReadAllText(LimitsFile)) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The soft limit of the "Max open files" row of <c>/proc/self/limits</c>; null when it is missing or unlimited.</summary>
    internal static long? ParseLimits(string limits)
    {
        foreach (var line in limits.Split('\n'))
        {
            if (line.StartsWith("Max open files", StringComparison.Ordinal))
            {
                var soft = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
                return long.TryParse(soft, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
            }
        }
        return null;
    }
}

/// <summary>
/// This node's open connections: those Kestrel runs, counted from its own <c>kestrel.active_connections</c>
/// (a listener of its own, so it counts whether or not metrics are exported), and those accepted and
/// not yet started by Kestrel. The accept loop admits a connection only under the cap.
/// </summary>
internal sealed partial class OpenConnections : IDisposable
{
    private const string KestrelMeter = "Microsoft.AspNetCore.Server.Kestrel";
    private const string ActiveConnections = "kestrel.active_connections";

    private readonly MeterListener _listener = new();
    private readonly long _limit;
    private readonly ILogger<OpenConnections> _logger;
    private long _active;
    private long _accepted;

    public OpenConnections(IMeterFactory meters, long limit, ILogger<OpenConnections> logger)
    {
        _limit = limit;
        _logger = logger;
        // Only this host's Kestrel: several nodes may run in one process (the tests).
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument is { Name: ActiveConnections, Meter.Name: KestrelMeter } && ReferenceEquals(instrument.Meter.Scope, meters))
            {
                listener.EnableMeasurementEvents(instrument, this);
            }
        };
        _listener.SetMeasurementEventCallback<long>(static (_, change, _, state) => Interlocked.Add(ref ((OpenConnections)state!)._active, change));
        _listener.Start();
    }

    /// <summary>Connections open now: run by Kestrel, or accepted and waiting for it (one started and not yet past <see cref="Started"/> counts twice, for a moment).</summary>
    public long Count => Interlocked.Read(ref _active) + Interlocked.Read(ref _accepted);

    /// <summary>Called by the accept loop for each accepted connection: true (and counted) while under the cap, else false.</summary>
    public bool TryAdmit()
    {
        if (Count >= _limit)
        {
            return false;
        }
        Interlocked.Increment(ref _accepted);
        return true;
    }

    /// <summary>The connection middleware, first for every connection: Kestrel counts it from here on.</summary>
    public ConnectionDelegate Started(ConnectionDelegate next) => connection =>
    {
        Interlocked.Decrement(ref _accepted);
        return next(connection);
    };

    /// <summary>
    /// Closes a connection past the cap now, in the accept loop: its socket (and descriptor) goes at once
    /// (a FIN: the client sees the connection closed and retries); the rest of it is disposed on the thread pool.
    /// </summary>
    public void Refuse(ConnectionContext connection)
    {
        LogRejected(_logger, connection.ConnectionId, _limit);
        connection.Abort(new ConnectionAbortedException("The node holds its cap of connections."));
        _ = DisposeAsync(connection);
    }

    private static async Task DisposeAsync(ConnectionContext connection)
    {
        try
        {
            await connection.DisposeAsync();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // Already closed: nothing left to release.
        }
    }

    [LoggerMessage(EventName = "ConnectionRejected", Level = LogLevel.Warning, Message = "Connection {ConnectionId} refused: the node holds its cap of {Limit} connections")]
    private static partial void LogRejected(ILogger logger, string connectionId, long limit);

    public void Dispose() => _listener.Dispose();
}
