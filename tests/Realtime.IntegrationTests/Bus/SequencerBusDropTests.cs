using Microsoft.Extensions.DependencyInjection;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Bus;

namespace Realtime.IntegrationTests.Bus;

/// <summary>
/// An idle sequencer sleeps a whole idle poll (here an hour) rather than waking every outage poll
/// interval to look at the bus; a bus that drops must wake it, so that what other nodes commit
/// meanwhile (their messages lost with the bus) is still read from PostgreSQL at the outage pace.
/// </summary>
public sealed class SequencerBusDropTests : IAsyncLifetime
{
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(10);
    private readonly DroppableBus _bus = new();
    private TestDatabase _database = null!;
    private RealtimeServer _server = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        _server = await RealtimeServer.StartAsync(_database.ConnectionString,
            new Dictionary<string, string?> { ["Live:IdlePollInterval"] = "01:00:00", ["Live:OutagePollInterval"] = "00:00:00.100" },
            configureServices: services => services.AddSingleton<IMessageBus>(_bus));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task ANotificationCommittedElsewhereWhileTheBusIsDownReachesAConnectionOfAnIdleNode()
    {
        var user = "seq-drop-" + Guid.NewGuid().ToString("N")[..8];
        await using var hub = await _server.ConnectHubAsync(_server.Tokens.User(user));
        Assert.Equal(0, (await hub.InvokeAsync("Resume", 0)).GetInt32());

        _bus.Drop(); // the sequencer has been in its hour-long idle wait since the node started
        var id = (await OtherNode.CommitAsync(_database, user, 1)).Single(); // its message would have gone with the bus

        var received = await hub.NextAsync("notification", DeliveryTimeout);
        Assert.Equal(id, received.Argument.GetProperty("id").GetInt64());
    }

    /// <summary>This node's own bus, which the test can cut off from the (imagined) other nodes.</summary>
    private sealed class DroppableBus : IMessageBus
    {
        private readonly InProcessBus _inner = new();
        private volatile bool _connected = true;

        public bool IsConnected => _connected;

        public event Action? Reconnected
        {
            add { }
            remove { }
        }

        public event Action? Disconnected;

        public void Drop()
        {
            _connected = false;
            Disconnected?.Invoke();
        }

        public Task PublishAsync(NotificationBatch batch, CancellationToken cancellationToken) => _inner.PublishAsync(batch, cancellationToken);

        public Task PublishAsync(UserEvent userEvent, CancellationToken cancellationToken) => _inner.PublishAsync(userEvent, cancellationToken);

        public Task PublishAsync(CacheInvalidation invalidation, CancellationToken cancellationToken) => _inner.PublishAsync(invalidation, cancellationToken);

        public void OnBatch(Action<NotificationBatch> handler) => _inner.OnBatch(handler);

        public void OnUserEvent(Action<UserEvent> handler) => _inner.OnUserEvent(handler);

        public void OnCacheInvalidation(Action<CacheInvalidation> handler) => _inner.OnCacheInvalidation(handler);
    }
}
