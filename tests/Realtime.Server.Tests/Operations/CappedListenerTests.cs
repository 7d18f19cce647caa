using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Realtime.Server.Operations;

namespace Realtime.Server.Tests.Operations;

/// <summary>
/// The cap is kept where connections are accepted, not where the thread pool gets to them: a node that
/// accepts a flood before running any connection holds no more than its cap (before, every accepted
/// connection waited for the middleware to refuse it, and a loaded node ran out of descriptors first).
/// </summary>
public sealed class CappedListenerTests : IDisposable
{
    private const int Cap = 5;
    private readonly ServiceProvider _metrics = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly OpenConnections _open;

    public CappedListenerTests() =>
        _open = new OpenConnections(_metrics.GetRequiredService<IMeterFactory>(), Cap, NullLogger<OpenConnections>.Instance);

    [Fact]
    public async Task AFloodAcceptedBeforeAnyConnectionRunsIsRefusedPastTheCapInTheAcceptLoop()
    {
        var flood = Enumerable.Range(0, 3 * Cap).Select(i => new AcceptedConnection("c" + i)).ToList();
        var listener = await Bind(flood);

        var admitted = new List<ConnectionContext>();
        for (var i = 0; i < Cap; i++)
        {
            admitted.Add((await listener.AcceptAsync())!);
        }
        Assert.Null(await listener.AcceptAsync()); // the rest of the flood was refused on the way

        Assert.Equal(flood.Take(Cap), admitted);
        Assert.All(flood.Take(Cap), c => Assert.False(c.Aborted));
        Assert.All(flood.Skip(Cap), c => Assert.True(c.Aborted, $"{c.ConnectionId} was not closed"));
        Assert.Equal(Cap, _open.Count);
    }

    [Fact]
    public async Task AConnectionStartedByKestrelIsNoLongerCountedAsWaiting()
    {
        var listener = await Bind([new AcceptedConnection("a"), new AcceptedConnection("b")]);
        var started = 0;
        var pipeline = _open.Started(_ => { started++; return Task.CompletedTask; });

        await pipeline((await listener.AcceptAsync())!);
        Assert.Equal(1, started);
        Assert.Equal(0, _open.Count); // no Kestrel here to count it as active
        Assert.NotNull(await listener.AcceptAsync());
        Assert.Equal(1, _open.Count);
    }

    private async Task<IConnectionListener> Bind(IEnumerable<ConnectionContext> connections) =>
        await new CappedListenerFactory(new QueuedConnections(connections), _open).BindAsync(new IPEndPoint(IPAddress.Loopback, 0));

    public void Dispose()
    {
        _open.Dispose();
        _metrics.Dispose();
    }

    /// <summary>A connection that records its abort (what closes the socket of a real one).</summary>
    private sealed class AcceptedConnection(string id) : ConnectionContext
    {
        public bool Aborted { get; private set; }

        public override string ConnectionId { get; set; } = id;

        public override Microsoft.AspNetCore.Http.Features.IFeatureCollection Features { get; } = new Microsoft.AspNetCore.Http.Features.FeatureCollection();

        public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();

        public override System.IO.Pipelines.IDuplexPipe Transport { get; set; } = null!;

        public override void Abort(ConnectionAbortedException abortReason) => Aborted = true;

        public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>A transport whose listener hands out the given connections, then ends (null).</summary>
    private sealed class QueuedConnections(IEnumerable<ConnectionContext> connections) : IConnectionListenerFactory
    {
        public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<IConnectionListener>(new Listener(new Queue<ConnectionContext>(connections), endpoint));

        private sealed class Listener(Queue<ConnectionContext> queue, EndPoint endpoint) : IConnectionListener
        {
            public EndPoint EndPoint => endpoint;

            public ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default) =>
                ValueTask.FromResult(queue.TryDequeue(out var next) ? next : null);

            public ValueTask UnbindAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
