using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Operations;

/// <summary>
/// A restarted node's clients all come back at once while it is busy starting: the kernel must be
/// able to hold their connections until the node accepts them. With Kestrel's default accept queue
/// (512) the kernel dropped the handshakes past it, and each of those clients waited for its SYN to
/// be sent again (1 s, then 3 s, then 7 s).
/// </summary>
public sealed class ListenBacklogTests
{
    private const int Flood = 1_000;
    private const string SoMaxConnFile = "/proc/sys/net/core/somaxconn";
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AThousandConnectionsOpenedWhileTheNodeAcceptsNothingAreAllHeldByTheKernelAndServedAfter()
    {
        // The kernel caps every accept queue at somaxconn: a machine set below the flood holds only that many.
        var flood = Math.Min(Flood, int.Parse(File.ReadAllText(SoMaxConnFile).Trim(), CultureInfo.InvariantCulture));
        await using var database = await TestDatabase.CreateAsync();
        await using var node = await ServerProcess.StartAsync(database.ConnectionString);

        await node.WithOutputOnFailureAsync(async () =>
        {
            var sockets = new List<Socket>();
            node.Freeze(true);
            try
            {
                var connects = new List<Task>();
                for (var i = 0; i < flood; i++)
                {
                    var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    sockets.Add(socket);
                    connects.Add(socket.ConnectAsync(IPAddress.Loopback, node.BaseAddress.Port));
                }
                var all = Task.WhenAll(connects);
                await Task.WhenAny(all, Task.Delay(ConnectTimeout));
                var held = connects.Count(c => c.IsCompletedSuccessfully);
                Assert.True(held == flood, $"{held} of {flood} connections were held by the kernel while the node accepted nothing");
            }
            finally
            {
                node.Freeze(false);
                foreach (var socket in sockets)
                {
                    socket.Dispose();
                }
            }

            await Eventually.WaitUntilServingAsync(node.BaseAddress, "/health/ready", () => node.HasExited ? "the node exited" : null,
                Timeout, "ready after the flood", () => node.Output.ToString());
        });
    }
}
