using System.Globalization;

namespace Realtime.LoadTest;

/// <summary>Which live client a scenario connects with.</summary>
internal enum ClientKind
{
    /// <summary>This tool's own raw-WebSocket client for the JSON hub protocol (a few KB per connection).</summary>
    Light,

    /// <summary>The official Microsoft.AspNetCore.SignalR.Client (HubConnection).</summary>
    Official,
}

/// <summary>Which transport the idle or receiving connections use.</summary>
internal enum TransportKind
{
    Hub,
    Sse,
    Mix,
}

/// <summary>One server under test: where clients connect, where sends go, and optionally how to start it.</summary>
internal sealed record Target(string Name, Uri Url, Uri SendUrl, string? Command, int? Pid)
{
    /// <summary>More nodes of the same cluster (node=URL, repeatable): clients are spread over <see cref="Url"/> and these.</summary>
    public IReadOnlyList<Uri> OtherNodes { get; init; } = [];

    /// <summary>Where clients connect: client i goes to node i mod the node count.</summary>
    public IReadOnlyList<Uri> ClientUrls => [Url, .. OtherNodes];

    /// <summary>
    /// False (resume=none) for a server that keeps nothing and whose <c>Resume</c> replays nothing (the
    /// baseline): the storm then reports what it acknowledged and never delivered under rows of their own.
    /// </summary>
    public bool Resumes { get; init; } = true;

    /// <summary>This target for a worker process: its name and client URLs (the parent sends and runs the server).</summary>
    public string ClientSpec() => Name + "=" + Url + string.Concat(OtherNodes.Select(n => ",node=" + n));

    public static Target Parse(string text)
    {
        // NAME=URL[,send=URL][,pid=PID][,node=URL...][,resume=none]   (or just URL: named after its port)
        var parts = text.Split(',');
        var head = parts[0];
        var eq = head.IndexOf('=', StringComparison.Ordinal);
        var name = eq > 0 && !head[..eq].Contains("://", StringComparison.Ordinal) ? head[..eq] : null;
        var url = new Uri(name is null ? head : head[(eq + 1)..]);
        name ??= "target-" + url.Port.ToString(CultureInfo.InvariantCulture);
        var send = url;
        int? pid = null;
        var nodes = new List<Uri>();
        var resumes = true;
        foreach (var part in parts.Skip(1))
        {
            if (part.StartsWith("node=", StringComparison.Ordinal))
            {
                nodes.Add(new Uri(part["node=".Length..]));
            }
            else if (part.StartsWith("send=", StringComparison.Ordinal))
            {
                send = new Uri(part["send=".Length..]);
            }
            else if (part.StartsWith("pid=", StringComparison.Ordinal))
            {
                pid = int.Parse(part["pid=".Length..], CultureInfo.InvariantCulture);
            }
            else if (part == "resume=none")
            {
                resumes = false;
            }
            else
            {
                throw new ArgumentException($"--target: unknown part '{part}' (expected send=URL, pid=PID, node=URL or resume=none)");
            }
        }
        return new Target(name, url, send, null, pid) { OtherNodes = nodes, Resumes = resumes };
    }
}

/// <summary>Every option of the tool (see <see cref="Help"/>); each scenario reads the ones it needs.</summary>
internal sealed record LoadTestOptions
{
    public const int DefaultPerProcessConnections = 18_000; // the fd cap here is 20,000 per process

    public string Scenario { get; init; } = "";
    public List<Target> Targets { get; init; } = [];
    public int Connections { get; init; } = 1_000;
    public double DurationSeconds { get; init; } = 10;
    public double Rate { get; init; } = 100;
    public double ConnectRate { get; init; } = 2_000;
    public int ConnectConcurrency { get; init; } = 100;
    public ClientKind Client { get; init; } = ClientKind.Light;
    public bool MessagePack { get; init; }
    public TransportKind Transport { get; init; } = TransportKind.Hub;
    public string SigningKey { get; init; } = Environment.GetEnvironmentVariable("Auth__SigningKey") ?? "";
    public string? Issuer { get; init; } = Environment.GetEnvironmentVariable("Auth__Issuer") ?? "realtime-dev";
    public string? Audience { get; init; } = Environment.GetEnvironmentVariable("Auth__Audience") ?? "realtime";
    public int Concurrency { get; init; } = 64;
    public int? Bulk { get; init; }
    public int MaxInFlight { get; init; } = 2_000;
    public double DrainSeconds { get; init; } = 10;
    /// <summary>
    /// 30 s: a freshly started .NET server keeps recompiling its hot code (tiered compilation
    /// rejits ReadyToRun code at tier 1) for 15–30 s under load, so a shorter warm-up measures
    /// the JIT's CPU and pauses rather than the server (BENCHMARKS.md "End-to-end latency").
    /// </summary>
    public double WarmupSeconds { get; init; } = 30;
    public int PerProcess { get; init; } = DefaultPerProcessConnections;
    public int SourceAddresses { get; init; } = 50;
    public string? JsonPath { get; init; }
    public string? Postgres { get; init; } = Environment.GetEnvironmentVariable("ConnectionStrings__Postgres");
    public bool Quiet { get; init; }
    public string RunId { get; init; } = DateTime.UtcNow.ToString("HHmmss", CultureInfo.InvariantCulture) + Random.Shared.Next(1000).ToString("000", CultureInfo.InvariantCulture);

    /// <summary>The PID of the (first) target's server, for its RSS; same as pid= in --target.</summary>
    public int? ServerPid { get; init; }

    // worker mode (connections past the per-process fd cap)
    public bool Worker { get; init; }
    public int UserOffset { get; init; }

    public TimeSpan Duration => TimeSpan.FromSeconds(DurationSeconds);

    public static LoadTestOptions Parse(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            return new LoadTestOptions { Scenario = "help" };
        }
        if (args[0] is not ("connections" or "latency" or "fanout" or "sends" or "storm" or "storage" or "push"))
        {
            throw new ArgumentException($"unknown scenario '{args[0]}' (connections, latency, fanout, sends, storm, storage, push)");
        }
        var options = new LoadTestOptions { Scenario = args[0] };
        var targets = new List<Target>();
        var commands = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i < args.Length; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value");
            int Int() => int.Parse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture);
            double Double() => double.Parse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture);
            options = name switch
            {
                "-n" or "--connections" => options with { Connections = Int() },
                "-d" or "--duration" => options with { DurationSeconds = Double() },
                "-r" or "--rate" => options with { Rate = Double() },
                "--connect-rate" => options with { ConnectRate = Double() },
                "--connect-concurrency" => options with { ConnectConcurrency = Int() },
                "--client" => options with { Client = Enum.Parse<ClientKind>(Value(), ignoreCase: true) },
                "--protocol" => options with { MessagePack = Value().ToLowerInvariant() switch { "json" => false, "messagepack" or "msgpack" => true, var p => throw new ArgumentException($"--protocol: {p}") } },
                "--transport" => options with { Transport = Enum.Parse<TransportKind>(Value(), ignoreCase: true) },
                "--key" => options with { SigningKey = Value() },
                "--issuer" => options with { Issuer = Value() },
                "--audience" => options with { Audience = Value() },
                "-c" or "--concurrency" => options with { Concurrency = Int() },
                "--bulk" => options with { Bulk = Int() },
                "--max-in-flight" => options with { MaxInFlight = Int() },
                "--drain" => options with { DrainSeconds = Double() },
                "--warmup" => options with { WarmupSeconds = Double() },
                "--per-process" => options with { PerProcess = Int() },
                "--source-addresses" => options with { SourceAddresses = Int() },
                "--json" => options with { JsonPath = Value() },
                "--postgres" => options with { Postgres = Value() },
                "-q" or "--quiet" => options with { Quiet = true },
                "--run-id" => options with { RunId = Value() },
                "--worker" => options with { Worker = true },
                "--user-offset" => options with { UserOffset = Int() },
                "--target" or "-t" => Add(options, targets, Target.Parse(Value())),
                "--command" => AddCommand(options, commands, Value()),
                "--server-pid" => options with { ServerPid = Int() },
                _ => throw new ArgumentException($"unknown option {name} (see --help)"),
            };
        }
        if (targets.Count == 0)
        {
            targets.Add(new Target("realtime", new Uri("http://localhost:5000"), new Uri("http://localhost:5000"), null, null));
        }
        if (options.ServerPid is { } serverPid && targets[0].Pid is null)
        {
            targets[0] = targets[0] with { Pid = serverPid };
        }
        foreach (var (name, command) in commands)
        {
            var index = targets.FindIndex(t => t.Name == name);
            if (index < 0)
            {
                throw new ArgumentException($"--command {name}=...: no --target named {name}");
            }
            targets[index] = targets[index] with { Command = command };
        }
        return options with { Targets = targets };
    }

    private static LoadTestOptions Add(LoadTestOptions options, List<Target> targets, Target target)
    {
        targets.Add(target);
        return options;
    }

    private static LoadTestOptions AddCommand(LoadTestOptions options, Dictionary<string, string> commands, string text)
    {
        var eq = text.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0)
        {
            throw new ArgumentException("--command takes NAME=COMMAND");
        }
        commands[text[..eq]] = text[(eq + 1)..];
        return options;
    }

    public const string Help = """
        Realtime.LoadTest: a load generator and benchmark runner for Realtime (and the vanilla
        SignalR baseline in loadtest/Baselines/VanillaSignalR, which exposes the same endpoints).

        usage: dotnet run -c Release --project loadtest/Realtime.LoadTest -- SCENARIO [options]

        Scenarios (each bounded in connections, duration and rate; progress every second on
        stderr, a results table at the end, JSON with --json FILE):
          connections  ramp to -n idle connections (--transport hub|sse|mix) at --connect-rate;
                       connect rate and time, errors, server RSS per connection (read from
                       /proc/PID/status of the target's pid=, its --command child, or the process
                       listening on its port) and managed heap per connection (the target's
                       /metrics, after a full GC asked for through the .NET diagnostics port),
                       each as (after - before) / N and per connection added between N/5 and N
                       (opened first and measured: fixed costs excluded); the tool's own memory per
                       client. Past --per-process connections (18,000: every process here is capped
                       at 20,000 file descriptors) it runs several worker processes (the first
                       opens the fifth) and sums their results.
          latency      -n users connected, open-loop sends at -r per second for -d seconds, each
                       carrying its send timestamp in data; end-to-end p50/p90/p99/p99.9/max
                       (send -> committed -> delivered), the send answer's p99, deliveries/s,
                       lost and duplicated, errors.
          fanout       -n connections, broadcasts at -r per second for -d seconds; deliveries/s
                       (offered: rate x connections), p50/p99 end to end, lost, the server's CPU
                       per 1,000 deliveries.
          sends        closed loop, -c concurrent senders for -d seconds, first single-recipient
                       sends, then bulk sends of --bulk recipients: persisted sends/s and the
                       answer's p50/p99 (the baseline persists nothing: its figure is the HTTP path).
          storm        -n connected; the tool kills the node (SIGKILL) and starts it again (needs
                       --command NAME=...), while sending at -r per second (to the send= URL in
                       two-node mode): time until 99% / 100% are back (connected again and their
                       Resume(lastId) answered), reconnect attempts, server and tool CPU,
                       notifications lost and duplicated meanwhile (Realtime: must be 0 and 0).
                       A target marked resume=none (the baseline: keeps nothing, its Resume
                       replays nothing) reports instead, under rows of its own, the notifications
                       it acknowledged and never delivered: what its users miss.
          storage      one bulk send of --bulk recipients (default 1,000 here) with a 4,000-char
                       body and 16 KB of data; bytes stored per recipient (needs --postgres).
          push         -n offline users, each with one Web Push subscription on the tool's own local
                       fake push service (loopback Kestrel, answers 201, does not decrypt); bulk
                       sends of --bulk of them (100) at -r pushes per second for -d seconds
                       (after the warm-up's pushes arrived): pushes/s received (first to last),
                       not pushed and duplicated (warm-up included), the server's
                       CPU per push. The server needs Push__AllowInsecureEndpoints=true.

        Targets:
          -t, --target NAME=URL[,send=URL][,pid=PID][,node=URL...][,resume=none]   a server (repeatable; default
                       realtime=http://localhost:5000). Two or more run back to back with the same
                       scenario, and the table shows the first divided by the second. send= sends to
                       another node (two-node mode: clients on URL, sends through Redis from send=).
                       node= (repeatable): more nodes of the same cluster; client i connects to
                       node i mod the node count (URL first), sends go to URL (or send=).
                       resume=none: the server keeps nothing to resume from (storm, above).
          --server-pid PID  the first target's server process (same as pid=); without it the
                       tool finds the process listening on the target's port (loopback only).
          --command NAME=COMMAND  start that target as a child process (/bin/sh -c COMMAND, with
                       ASPNETCORE_URLS set to its URL) just before its run and stop it after; storm
                       needs it to kill and restart the node. With node= (or a send= URL that is
                       not a client URL) it starts the same command for each of those URLs too,
                       before the first, and stops them all after the target's run (the storm
                       kills only the first); latency then adds every node's CPU.

        Clients:
          --client light|official  light (default): this tool's own raw-WebSocket client for the
                       JSON hub protocol (0x1E-framed records, handshake, pings every 10 s spread over clients, Resume)
                       that reads only id, data.seq and data.sentAt of each message: measured here
                       18 KB managed / 34 KB RSS per connection, and little CPU per delivery, which
                       matters when the generator shares the machine's cores with the server.
                       official: the Microsoft.AspNetCore.SignalR.Client HubConnection (measured
                       44 KB managed / 63 KB RSS per connection, and a full deserialization per
                       message): it fits 18,000 per process in memory, but costs the server
                       CPU it competes for; use it to check the light client's figures.
          --protocol json|messagepack  official client only (the server offers JSON only today).
          --transport hub|sse|mix  hub (default), SSE (/api/notifications/stream), or half each.
          --source-addresses N  spread client connections over 127.0.0.2 .. 127.0.0.N+1 (default
                       50; loopback targets only).
          --per-process N  (18,000) connections, latency, fanout and storm: past N connections
                       the clients live in worker processes of N each (this tool run again with --worker; every
                       process here is capped at 20,000 file descriptors); this process sends,
                       kills and restarts the node, and sums what the workers report (deliveries
                       per message, latencies, when each client was back).

        Options:
          -n, --connections N (1000)  -d, --duration SECONDS (10)  -r, --rate PER_SECOND (100)
          --connect-rate PER_SECOND (2000)  --connect-concurrency N (100)
          -c, --concurrency N (64, sends)  --bulk N (100, sends and push; 1000, storage)
          --max-in-flight N (2000: open-loop sends past it are counted as skipped)
          --drain SECONDS (10: how long to wait for the last deliveries)
          --warmup SECONDS (30: latency, fanout, sends and push first run this long at the same rate,
                       unmeasured, so tiered JIT has settled and pools are warm; 0 for none)
          --key KEY --issuer ISS --audience AUD  HS256 token minting (default: Auth__SigningKey,
                       Auth__Issuer or realtime-dev, Auth__Audience or realtime), the claims of
                       scripts/mint-token.sh
          --postgres CONNECTION_STRING  (storage; push clears what an earlier target of the run
                       left there; default ConnectionStrings__Postgres)
          --json FILE  write the results as JSON   -q, --quiet  no progress lines

        A server the tool starts (--command) runs with its rate limits off (RateLimits__SendsPerSecond,
        __UserRequestsPerSecond, __HubInvocationsPerSecond, __AnonymousRequestsPerSecond = 0) unless
        the tool's environment sets them; the tool prints which. Start other servers with those
        variables at 0: the tool warns when it sees 429s.
        """;
}
