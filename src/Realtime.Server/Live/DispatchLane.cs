using System.Collections.Concurrent;

namespace Realtime.Server.Live;

/// <summary>
/// One of the dispatcher's lanes: a thread of its own that writes each handed-over batch to its
/// share of this node's connections (<see cref="ConnectionRegistry.InLane"/>), batches in the order
/// they were handed over, so every connection still gets its notifications in id order. Its own
/// thread, not the thread pool: a fan-out queues thousands of transport sends on the pool, and a
/// batch that waited behind them would be late for every connection.
/// </summary>
internal sealed partial class DispatchLane : IDisposable
{
    private static readonly TimeSpan StopWait = TimeSpan.FromSeconds(5);

    private readonly BlockingCollection<DeliveryBatch> _batches = new(new ConcurrentQueue<DeliveryBatch>());
    private readonly int _index;
    private readonly ConnectionRegistry _registry;
    private readonly ILogger _logger;
    private readonly Thread _thread;

    public DispatchLane(int index, ConnectionRegistry registry, ILogger logger)
    {
        _index = index;
        _registry = registry;
        _logger = logger;
        _thread = new Thread(Run) { IsBackground = true, Name = $"realtime-dispatch-{index}" };
        _thread.Start();
    }

    /// <summary>Queues <paramref name="batch"/> behind the ones handed over before; never waits.</summary>
    public void Post(DeliveryBatch batch)
    {
        try
        {
            _batches.Add(batch);
        }
        catch (InvalidOperationException)
        {
            batch.LaneDone(); // stopping: the node's connections are closing
        }
    }

    private void Run()
    {
        foreach (var batch in _batches.GetConsumingEnumerable())
        {
            try
            {
                batch.DeliverIn(_index, _registry);
            }
            catch (Exception ex)
            {
                LogDeliveryFailed(_logger, _index, ex);
            }
            finally
            {
                batch.LaneDone();
            }
        }
    }

    public void Dispose()
    {
        _batches.CompleteAdding();
        _thread.Join(StopWait);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Dispatch lane {Lane} failed to deliver a batch")]
    private static partial void LogDeliveryFailed(ILogger logger, int lane, Exception exception);
}
