using Microsoft.Extensions.Options;

namespace Realtime.Server.Live;

/// <summary>
/// Writes the keep-alives of this node's live connections: SignalR pings (<see cref="Hub"/>, every
/// <see cref="LiveOptions.HubKeepAliveInterval"/>) and SSE <c>: ping</c> comments (<see cref="Sse"/>,
/// every <see cref="LiveOptions.SseKeepAliveInterval"/>), one slot of each wheel per tick of one timer.
/// </summary>
/// <remarks>
/// SignalR's own keep-alive rides its once-a-second heartbeat, which writes every ping due that second
/// in one burst (19,000 connections / 15 s: ~1,270 pings, each waking its connection's send loop), and
/// sends that arrive meanwhile wait behind it. Ten ticks a second make that ~127 per tick. A timer per
/// connection (as SSE streams had) spreads them too, but only as evenly as the clients connected, and
/// costs each connection a timer and a waiting task.
/// </remarks>
internal sealed class KeepAliveScheduler : IDisposable
{
    /// <summary>The longest tick: a burst then holds a tenth of a second's pings (shorter for a shorter interval).</summary>
    public static readonly TimeSpan LongestTick = TimeSpan.FromMilliseconds(100);

    private readonly Lock _gate = new();
    private readonly List<LiveConnection> _buffer = [];
    private readonly TimeProvider _time;
    private readonly long _startedAt;
    private readonly ITimer _timer;
    private long _ticksDone;

    public KeepAliveScheduler(IOptions<LiveOptions> options, TimeProvider time)
    {
        var live = options.Value;
        Tick = Min(LongestTick, Min(live.HubKeepAliveInterval, live.SseKeepAliveInterval));
        Hub = new KeepAliveWheel(SlotsFor(live.HubKeepAliveInterval, Tick));
        Sse = new KeepAliveWheel(SlotsFor(live.SseKeepAliveInterval, Tick));
        _time = time;
        _startedAt = time.GetTimestamp();
        _timer = time.CreateTimer(static state => ((KeepAliveScheduler)state!).OnTick(), this, Tick, Tick);
    }

    /// <summary>How often one slot of each wheel is pinged.</summary>
    public TimeSpan Tick { get; }

    /// <summary>The hub's connections (SignalR's own keep-alive is set past this one's interval and writes none).</summary>
    public KeepAliveWheel Hub { get; }

    /// <summary>The SSE streams.</summary>
    public KeepAliveWheel Sse { get; }

    /// <summary>
    /// Slots of a wheel: whole ticks in the interval, rounded down, so a turn is never longer than the
    /// interval and a client hears from the server at least that often.
    /// </summary>
    public static int SlotsFor(TimeSpan interval, TimeSpan tick) => (int)Math.Clamp(interval.Ticks / tick.Ticks, 1, int.MaxValue);

    public void Dispose() => _timer.Dispose();

    private void OnTick()
    {
        // One tick at a time; a late one (a GC pause, a starved thread pool) catches up on the slots it missed.
        lock (_gate)
        {
            var due = _time.GetElapsedTime(_startedAt).Ticks / Tick.Ticks;
            if (due <= _ticksDone)
            {
                return;
            }
            PingDue(Hub, _ticksDone, due);
            PingDue(Sse, _ticksDone, due);
            _ticksDone = due;
        }
    }

    /// <summary>Pings the slots of ticks [from, to); when more than a turn behind, each slot once.</summary>
    private void PingDue(KeepAliveWheel wheel, long from, long to)
    {
        for (var tick = Math.Max(from, to - wheel.Slots); tick < to; tick++)
        {
            wheel.Ping((int)(tick % wheel.Slots), _buffer);
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
