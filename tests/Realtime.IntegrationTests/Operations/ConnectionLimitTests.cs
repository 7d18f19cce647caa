using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using Npgsql;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Operations;

namespace Realtime.IntegrationTests.Operations;

/// <summary>
/// A node offered more connections than it has file descriptors (a reconnect storm at its
/// <c>ulimit -n</c>) refuses the ones past its cap at once instead of running out: a node at its
/// limit fails every PostgreSQL connection and then aborts ("Out of memory.") when the runtime
/// cannot start a thread. The flood arrives all at once, twice the node's descriptors: a node that
/// refused only when its thread pool got to each connection accepted past its limit first and
/// aborted (seen on a loaded machine with a flood of one descriptor limit opened one at a time).
/// </summary>
public sealed class ConnectionLimitTests
{
    private const int DescriptorLimit = 1_000;
    private const int Flood = 2 * DescriptorLimit;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ConnectionsPastTheDescriptorLimitAreClosedAtOnceAndTheNodeKeepsServing()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using var node = await ServerProcess.StartAsync(database.ConnectionString, descriptorLimit: DescriptorLimit);
        var cap = ConnectionLimit.For(DescriptorLimit, new NpgsqlConnectionStringBuilder(database.ConnectionString).MaxPoolSize);
        var user = "fd-cap-" + Guid.NewGuid().ToString("N")[..8];

        await node.WithOutputOnFailureAsync(async () =>
        {
            var sockets = Enumerable.Range(0, Flood).Select(_ => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)).ToList();
            try
            {
                using var stop = new CancellationTokenSource(Timeout);
                var closed = sockets.Select(socket => ClosedByTheNodeAsync(socket, node.BaseAddress.Port, stop.Token)).ToArray();
                await Eventually.WaitUntilAsync(
                    () => closed.Count(c => c.IsCompletedSuccessfully && c.Result) >= Flood - cap,
                    Timeout, $"the {Flood - cap} connections past the cap of {cap} closed by the node");
            }
            finally
            {
                foreach (var socket in sockets)
                {
                    socket.Dispose();
                }
            }

            await Eventually.WaitUntilServingAsync(node.BaseAddress, "/health/ready", () => node.HasExited ? "the node exited" : null,
                Timeout, "ready after the flood", () => node.Output.ToString());
            await using var hub = await HubClient.ConnectAsync(node.BaseAddress, node.Tokens.User(user));
            using var api = node.CreateApiClient(node.Tokens.Service());
            var sent = await api.PostAsJsonAsync("/api/notifications", new { userId = user, title = "after the flood" });
            Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
            Assert.Equal("after the flood", (await hub.WaitForAsync("notification")).GetProperty("title").GetString());
        });
    }

    /// <summary>
    /// Connects, then true once the node closed the connection (end of stream or reset, even while the
    /// connect completes: a flood's connection refused at once); false when <paramref name="stop"/> came first.
    /// </summary>
    private static async Task<bool> ClosedByTheNodeAsync(Socket socket, int port, CancellationToken stop)
    {
        try
        {
            await socket.ConnectAsync(IPAddress.Loopback, port, stop);
            return await socket.ReceiveAsync(new byte[1], SocketFlags.None, stop) == 0;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
