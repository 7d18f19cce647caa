using Realtime.LoadTest.Measurement;
using Realtime.LoadTest.Servers;

namespace Realtime.LoadTest;

/// <summary>What a scenario gets for one target: the options, the target, tokens, and the server's process when known.</summary>
internal sealed class ScenarioContext(LoadTestOptions options, Target target, ServerLauncher? launcher, CancellationToken cancellationToken)
{
    public LoadTestOptions Options { get; } = options;

    public Target Target { get; } = target;

    public TokenMinter Tokens { get; } = TokenMinter.From(options);

    /// <summary>Set when the tool started the server itself (the storm needs it).</summary>
    public ServerLauncher? Launcher { get; } = launcher;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>The server's PID: the child the tool started, the target's pid=, or the process listening on its port.</summary>
    public int? ServerPid => Launcher?.Pid ?? Target.Pid ?? (_listener ??= ClientsIsLoopback ? ServerProbe.FindListener(Target.Url.Port) : null);

    private int? _listener;

    public long? ServerRss() => ServerProbe.RssBytes(ServerPid);

    public TimeSpan? ServerCpu() => ServerProbe.CpuTime(ServerPid);

    /// <summary>The cluster's other nodes when the tool started them (node=, send= with a --command).</summary>
    public OtherNodes? OtherNodes { get; init; }

    /// <summary>The CPU of every node the tool started, the first included; null unless it started other nodes.</summary>
    public TimeSpan? ClusterCpu() =>
        OtherNodes is { Count: > 0 } others && ServerCpu() is { } first
            ? others.Pids.Aggregate(first, (sum, pid) => sum + (ServerProbe.CpuTime(pid) ?? TimeSpan.Zero))
            : null;

    private bool ClientsIsLoopback => Target.Url.IsLoopback;

    public ScenarioResult NewResult(string scenario) => new(scenario, Target.Name);
}
