using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Realtime.Server.Contracts;
using Realtime.Server.Live;
using Realtime.Server.Notifications;
using Realtime.Server.Observability;

namespace Realtime.Server.Tests.Live;

/// <summary>A transport whose writes complete at once and are recorded, in order (so every drain runs on the caller's thread).</summary>
internal sealed class RecordingConnection(LiveServices services, string id = "c1") : LiveConnection(id, "alice", "test", services)
{
    public List<string> Written { get; } = [];

    protected override ValueTask WriteAsync(string target, RawJson payload, long? id, CancellationToken cancellationToken)
    {
        Written.Add(id is { } notificationId ? $"{target} {notificationId}" : target);
        return ValueTask.CompletedTask;
    }

    protected override ValueTask WriteKeepAliveAsync(CancellationToken cancellationToken)
    {
        Written.Add("ping");
        return ValueTask.CompletedTask;
    }

    public override void Close()
    {
    }
}

/// <summary>The node's services a <see cref="RecordingConnection"/> needs, none of which reaches PostgreSQL.</summary>
internal sealed class RecordingServices : IDisposable
{
    private readonly ServiceProvider _metricsServices = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly NpgsqlDataSource _unusedDatabase = NpgsqlDataSource.Create("Host=127.0.0.1;Port=1"); // nothing here reads PostgreSQL

    public RecordingServices()
    {
        var time = TimeProvider.System;
        Services = new LiveServices(new InboxStore(_unusedDatabase, time), new ResumeReader(_unusedDatabase, time, NullLogger<ResumeReader>.Instance),
            time, Options.Create(new LiveOptions()), NullLogger<LiveConnection>.Instance, new RealtimeMetrics(_metricsServices.GetRequiredService<IMeterFactory>()));
    }

    public LiveServices Services { get; }

    /// <summary>A connection already live (started, not waiting for a Resume).</summary>
    public RecordingConnection Live(string id = "c1")
    {
        var connection = new RecordingConnection(Services, id);
        connection.Start(CancellationToken.None);
        connection.StartLiveFromNow(lastCommittedId: null);
        return connection;
    }

    public void Dispose()
    {
        _unusedDatabase.Dispose();
        _metricsServices.Dispose();
    }
}
