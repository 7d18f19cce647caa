using Realtime.Server.Contracts;
using Realtime.Server.Live;

namespace Realtime.Server.Tests.Live;

/// <summary>
/// The keep-alive wheel deals connections into its slots evenly, pings exactly one slot's
/// connections at a time, and forgets a connection that left. Pure logic: no timer runs here.
/// </summary>
public sealed class KeepAliveWheelTests : IDisposable
{
    private readonly RecordingServices _services = new();

    [Fact]
    public void ConnectionsAreDealtEvenlyOverTheSlotsWhateverTheirArrival()
    {
        var wheel = new KeepAliveWheel(150);

        foreach (var connection in Connections(19_000))
        {
            wheel.Add(connection);
        }

        var sizes = Enumerable.Range(0, wheel.Slots).Select(wheel.CountIn).ToList();
        Assert.Equal(19_000, sizes.Sum());
        Assert.InRange(sizes.Max() - sizes.Min(), 0, 1);
    }

    [Fact]
    public void APingGoesOnlyToTheConnectionsOfThatSlotAndEachSlotOncePerTurnPingsEveryone()
    {
        var wheel = new KeepAliveWheel(4);
        var connections = Connections(10);
        foreach (var connection in connections)
        {
            wheel.Add(connection);
        }

        wheel.Ping(1, []);

        Assert.Equal(connections.Select(c => c.KeepAliveSlot == 1 ? 1 : 0), connections.Select(Pings));
        for (var slot = 0; slot < wheel.Slots; slot++)
        {
            if (slot != 1)
            {
                wheel.Ping(slot, []);
            }
        }
        Assert.All(connections, c => Assert.Equal(1, Pings(c)));
    }

    [Fact]
    public void ARemovedConnectionIsPingedNoMoreAndTheOthersOfItsSlotStill()
    {
        var wheel = new KeepAliveWheel(2);
        var connections = Connections(6); // slots 0, 1, 0, 1, 0, 1
        foreach (var connection in connections)
        {
            wheel.Add(connection);
        }

        wheel.Remove(connections[0]); // the slot's last member takes its place
        wheel.Remove(connections[0]); // twice: nothing
        wheel.Remove(connections[3]);
        PingEverySlot(wheel);

        Assert.Equal([0, 1, 1, 0, 1, 1], connections.Select(Pings));
        Assert.Equal(4, wheel.Count);
        Assert.Equal(-1, connections[0].KeepAliveSlot);

        foreach (var connection in connections)
        {
            wheel.Remove(connection);
        }
        Assert.Equal(0, wheel.Count);
        PingEverySlot(wheel);
        Assert.Equal([0, 1, 1, 0, 1, 1], connections.Select(Pings));
    }

    [Fact]
    public void AConnectionWithSomethingQueuedOrBeingWrittenGetsNoPing()
    {
        var wheel = new KeepAliveWheel(1);
        var holding = new RecordingConnection(_services.Services, "holding"); // started, waiting for its first Resume: what it is sent waits
        holding.Start(CancellationToken.None);
        var idle = _services.Live("idle");
        wheel.Add(holding);
        wheel.Add(idle);
        holding.EnqueueEvent(new EventFrames(ClientTargets.UnreadCount, ClientPayloads.UnreadCount(1)));

        wheel.Ping(0, []);

        Assert.Equal(1, holding.QueuedCount); // the queued event, no ping behind it
        Assert.Equal(["ping"], idle.Written);
        holding.Complete();
    }

    [Theory]
    [InlineData(15_000, 100, 150)]
    [InlineData(1_000, 100, 10)]
    [InlineData(250, 100, 2)] // a turn of 200 ms: never longer than the interval
    [InlineData(50, 50, 1)]
    public void AWheelHasTheWholeTicksOfItsIntervalSoATurnIsNeverLonger(int intervalMs, int tickMs, int slots)
    {
        Assert.Equal(slots, KeepAliveScheduler.SlotsFor(TimeSpan.FromMilliseconds(intervalMs), TimeSpan.FromMilliseconds(tickMs)));
    }

    private static int Pings(RecordingConnection connection) => connection.Written.Count(w => w == "ping");

    private static void PingEverySlot(KeepAliveWheel wheel)
    {
        for (var slot = 0; slot < wheel.Slots; slot++)
        {
            wheel.Ping(slot, []);
        }
    }

    private List<RecordingConnection> Connections(int count) =>
        [.. Enumerable.Range(0, count).Select(i => _services.Live($"c{i}"))];

    public void Dispose() => _services.Dispose();
}
