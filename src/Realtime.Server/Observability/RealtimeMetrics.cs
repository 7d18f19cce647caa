using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Realtime.Server.Observability;

/// <summary>
/// The one <see cref="Meter"/> of Realtime ("Realtime"), made by the node's <see cref="IMeterFactory"/>
/// so that two nodes in one process keep apart. The Prometheus exporter turns the dotted names into
/// the exposed ones: <c>realtime.deliveries</c> (a counter) is <c>realtime_deliveries_total</c>, a unit
/// <c>s</c> adds <c>_seconds</c>; README "Operating Realtime" lists them all.
/// </summary>
internal sealed class RealtimeMetrics
{
    public const string MeterName = "Realtime";

    private static readonly double[] LatencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    private static readonly int[] CommitBatchBuckets = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

    private static readonly string[] KnownTransports = ["websockets", "serversentevents", "longpolling", "sse"];
    private static readonly string[] KnownPushOutcomes = ["sent", "gone", "failed", "expired", "cancelled", "queued"];

    private readonly UpDownCounter<long> _connections;
    private readonly Counter<long> _created;
    private readonly Counter<long> _deliveries;
    private readonly Histogram<double> _latency;
    private readonly Counter<long> _pushSent;
    private readonly Counter<long> _resumes;
    private readonly Counter<long> _replayed;
    private readonly Counter<long> _gapReads;
    private readonly Counter<long> _polledNotifications;
    private readonly Counter<long> _busPublished;
    private readonly Counter<long> _busPublishFailures;
    private readonly Counter<long> _busReceived;
    private readonly Counter<long> _fellBehind;
    private readonly Counter<long> _rateLimited;
    private readonly Counter<long> _hubEncodings;
    private readonly Histogram<int> _commitBatchSize;
    private readonly Histogram<double> _commitDuration;

    public RealtimeMetrics(IMeterFactory meterFactory)
    {
        Meter = meterFactory.Create(MeterName);
        _connections = Meter.CreateUpDownCounter<long>("realtime.connections", "{connection}", "Live connections on this node, by transport.");
        _created = Meter.CreateCounter<long>("realtime.notifications.created", "{notification}", "Notifications committed by this node (sends and broadcasts).");
        _deliveries = Meter.CreateCounter<long>("realtime.deliveries", "{notification}", "Notifications written to live connections (live and replayed), by transport.");
        _latency = Meter.CreateHistogram("realtime.delivery.latency", "s", "From a notification's commit (createdAt) to its write on a live connection.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _pushSent = Meter.CreateCounter<long>("realtime.push.sent", "{job}", "Web Push jobs finished or rescheduled, by outcome (sent, gone, failed, expired, cancelled, queued = retry).");
        _resumes = Meter.CreateCounter<long>("realtime.resumes", "{resume}", "Resumes (replays from PostgreSQL) run, by transport.");
        _replayed = Meter.CreateCounter<long>("realtime.resume.replayed", "{notification}", "Notifications sent by resumes, by transport.");
        _gapReads = Meter.CreateCounter<long>("realtime.sequencer.gap_reads", "{read}", "Missing id ranges the sequencer read from PostgreSQL.");
        _polledNotifications = Meter.CreateCounter<long>("realtime.sequencer.polled", "{notification}", "Notifications the sequencer found by polling PostgreSQL (not heard on the bus).");
        _busPublished = Meter.CreateCounter<long>("realtime.bus.published", "{message}", "Messages this node published on the bus, by kind (batch, user_event).");
        _busPublishFailures = Meter.CreateCounter<long>("realtime.bus.publish_failures", "{message}", "Bus publishes that failed (Redis down): other nodes read those from PostgreSQL.");
        _busReceived = Meter.CreateCounter<long>("realtime.bus.received", "{message}", "Messages received from other nodes over the bus, by kind.");
        _fellBehind = Meter.CreateCounter<long>("realtime.connections.fell_behind", "{connection}", "Connections closed because their queue was full (the client resumes on reconnect), by transport.");
        _rateLimited = Meter.CreateCounter<long>("realtime.rate_limit.rejections", "{request}", "Requests refused with 429, by policy.");
        _commitBatchSize = Meter.CreateHistogram("realtime.commit.batch_size", "{notification}", "Notifications written by one committed group-commit transaction.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = CommitBatchBuckets });
        _commitDuration = Meter.CreateHistogram("realtime.commit.duration", "s", "Time of one committed group-commit transaction, from BEGIN to COMMIT.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _hubEncodings = Meter.CreateCounter<long>("realtime.hub.payload_encodings", "{encoding}", "Payloads encoded for a non-JSON hub protocol (once per message, not per connection), by protocol.");
    }

    /// <summary>
    /// Makes the contract's series exist (at 0) before their first event. Called once the exporters
    /// listen (a measurement made before that is not seen).
    /// </summary>
    public void InitializeSeries()
    {
        _created.Add(0);
        foreach (var transport in KnownTransports)
        {
            _connections.Add(0, Transport(transport));
            _deliveries.Add(0, Transport(transport));
        }
        foreach (var outcome in KnownPushOutcomes)
        {
            _pushSent.Add(0, new KeyValuePair<string, object?>("outcome", outcome));
        }
    }

    public Meter Meter { get; }

    public void ConnectionOpened(string transport) => _connections.Add(1, Transport(transport));

    public void ConnectionClosed(string transport, bool fellBehind)
    {
        _connections.Add(-1, Transport(transport));
        if (fellBehind)
        {
            _fellBehind.Add(1, Transport(transport));
        }
    }

    public void NotificationsCreated(int count)
    {
        if (count > 0)
        {
            _created.Add(count);
        }
    }

    /// <summary>A replayed notification written.</summary>
    public void Replayed(string transport) => _deliveries.Add(1, Transport(transport));

    /// <summary>Live notifications written in one write (one, or a run): one add for them all.</summary>
    public void DeliveredLive(string transport, int count) => _deliveries.Add(count, Transport(transport));

    /// <summary>One live notification's time from its commit to its write.</summary>
    public void DeliveryLatency(DateTime createdAt, DateTime now) => _latency.Record(Math.Max(0, (now - createdAt).TotalSeconds));

    public void Resumed(string transport, int replayed)
    {
        _resumes.Add(1, Transport(transport));
        if (replayed > 0)
        {
            _replayed.Add(replayed, Transport(transport));
        }
    }

    public void PushFinished(string outcome) => _pushSent.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void Committed(int notifications, TimeSpan duration)
    {
        _commitBatchSize.Record(notifications);
        _commitDuration.Record(duration.TotalSeconds);
    }

    public void GapRead() => _gapReads.Add(1);

    public void Polled(int found) => _polledNotifications.Add(found);

    public void BusPublished(string kind) => _busPublished.Add(1, Kind(kind));

    public void BusPublishFailed(string kind) => _busPublishFailures.Add(1, Kind(kind));

    public void BusReceived(string kind) => _busReceived.Add(1, Kind(kind));

    public void RateLimited(string policy) => _rateLimited.Add(1, new KeyValuePair<string, object?>("policy", policy));

    public void HubPayloadEncoded(string protocol) => _hubEncodings.Add(1, new KeyValuePair<string, object?>("protocol", protocol));

    private static KeyValuePair<string, object?> Transport(string transport) => new("transport", transport);

    private static KeyValuePair<string, object?> Kind(string kind) => new("kind", kind);
}
