namespace Realtime.Server.Live;

/// <summary>
/// The connections of one transport whose keep-alives <see cref="KeepAliveScheduler"/> writes, in
/// <see cref="Slots"/> slots: one slot is pinged per tick, so each connection once per turn of the
/// wheel, and the pings of a turn are spread evenly over it instead of going out in one burst.
/// Connections are dealt into the slots in turn (not by when they connected), so even a reconnect
/// storm, thousands within a second, leaves every slot with its share.
/// </summary>
internal sealed class KeepAliveWheel
{
    private readonly List<LiveConnection>[] _slots;
    private int _lastDealt = -1;

    public KeepAliveWheel(int slots)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        _slots = [.. Enumerable.Range(0, slots).Select(_ => new List<LiveConnection>())];
    }

    public int Slots => _slots.Length;

    /// <summary>Connections on the wheel.</summary>
    public int Count => Enumerable.Range(0, _slots.Length).Sum(CountIn);

    /// <summary>Connections in one slot.</summary>
    public int CountIn(int slot)
    {
        var members = _slots[slot];
        lock (members)
        {
            return members.Count;
        }
    }

    /// <summary>Puts a connection on the wheel, in the next slot in turn; it is pinged once per turn until <see cref="Remove"/>.</summary>
    public void Add(LiveConnection connection)
    {
        var slot = (int)((uint)Interlocked.Increment(ref _lastDealt) % (uint)_slots.Length);
        var members = _slots[slot];
        lock (members)
        {
            connection.KeepAliveIndex = members.Count;
            connection.KeepAliveSlot = slot;
            members.Add(connection);
        }
    }

    /// <summary>Takes a connection off the wheel (in constant time: the slot's last member takes its place); nothing if it is not on it.</summary>
    public void Remove(LiveConnection connection)
    {
        var slot = connection.KeepAliveSlot;
        if (slot < 0)
        {
            return;
        }
        var members = _slots[slot];
        lock (members)
        {
            var index = connection.KeepAliveIndex;
            if (connection.KeepAliveSlot != slot || index >= members.Count || !ReferenceEquals(members[index], connection))
            {
                return;
            }
            var last = members[^1];
            members[index] = last;
            last.KeepAliveIndex = index;
            members.RemoveAt(members.Count - 1);
            connection.KeepAliveSlot = -1;
        }
    }

    /// <summary>
    /// Queues a keep-alive to every connection in <paramref name="slot"/>. They are copied out of the
    /// slot first (into <paramref name="buffer"/>), so a write that runs on this thread holds no lock
    /// that a connecting or leaving client waits for.
    /// </summary>
    public void Ping(int slot, List<LiveConnection> buffer)
    {
        buffer.Clear();
        var members = _slots[slot];
        lock (members)
        {
            buffer.AddRange(members);
        }
        foreach (var connection in buffer)
        {
            connection.EnqueueKeepAlive();
        }
        buffer.Clear(); // holds no connection past its ping
    }
}
