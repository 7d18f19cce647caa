using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>
/// A private redis-server for one test, as a child process (not daemonized) on a loopback port of its
/// own: the test can SIGKILL it (<see cref="KillAsync"/>) and start it again on the same port
/// (<see cref="StartAsync"/>) without touching the Redis that the other test classes share.
/// Nothing is persisted (<c>--save '' --appendonly no</c>), so a restart starts empty.
/// </summary>
public sealed class RedisProcess : IAsyncDisposable
{
    private const string InstallCommand = "apt-get install -y redis-server";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(10);

    private readonly string _binary;
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("realtime-redis-");
    private Process? _process;

    private RedisProcess(string binary, int port)
    {
        _binary = binary;
        Port = port;
    }

    public int Port { get; private set; }

    /// <summary>The StackExchange.Redis connection string of this server.</summary>
    public string ConnectionString => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>What redis-server printed (and when the test killed or started it).</summary>
    public ScaleOutProcessOutput Output { get; } = new();

    /// <summary>Starts a redis-server on a free loopback port and waits until it answers PING.</summary>
    public static async Task<RedisProcess> StartNewAsync()
    {
        var redis = new RedisProcess(FindBinary(), 0);
        for (var attempt = 1; ; attempt++)
        {
            redis.Port = ScaleOutPorts.FreeLoopbackPort();
            try
            {
                await redis.StartAsync();
                return redis;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                // Most likely someone took the port between the probe and the bind: try another one.
            }
        }
    }

    /// <summary>(Re)starts redis-server on <see cref="Port"/> and waits until it answers PING.</summary>
    public async Task StartAsync()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException("redis-server is already running.");
        }
        var startInfo = new ProcessStartInfo(_binary) { WorkingDirectory = _directory.FullName };
        foreach (var argument in new[]
                 {
                     "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                     "--save", "", "--appendonly", "no", "--dir", _directory.FullName, "--daemonize", "no",
                 })
        {
            startInfo.ArgumentList.Add(argument);
        }
        Output.Note($"starting redis-server on port {Port}");
        _process = Output.Start(startInfo);

        await Eventually.WaitUntilAsync(
            async () =>
            {
                if (_process.HasExited)
                {
                    throw new InvalidOperationException($"redis-server exited with code {_process.ExitCode} while starting on port {Port}:\n{Output}");
                }
                try
                {
                    return await CommandAsync("PING");
                }
                catch (Exception ex) when (ex is SocketException or IOException or TimeoutException)
                {
                    return ex.Message; // not listening yet
                }
            },
            reply => reply == "PONG", StartTimeout, $"answering PING on port {Port}", reply => $"{reply}\n{Output}", TimeSpan.FromMilliseconds(20));
    }

    /// <summary>SIGKILL: the server vanishes at once, its clients see their connections drop.</summary>
    public async Task KillAsync()
    {
        if (_process is not { } process || process.HasExited)
        {
            return;
        }
        Output.Note("SIGKILL");
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync().WaitAsync(ExitTimeout);
    }

    /// <summary>
    /// Runs one command over a fresh connection and returns its reply as text: a simple or bulk
    /// string as is, an integer in decimal, an array as its elements joined by spaces.
    /// </summary>
    /// <exception cref="InvalidOperationException">Redis answered with an error.</exception>
    public async Task<string> CommandAsync(params string[] arguments)
    {
        using var timeout = new CancellationTokenSource(CommandTimeout);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Port), timeout.Token);
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            var request = new StringBuilder().Append('*').Append(arguments.Length).Append("\r\n");
            foreach (var argument in arguments)
            {
                request.Append('$').Append(Encoding.UTF8.GetByteCount(argument)).Append("\r\n").Append(argument).Append("\r\n");
            }
            await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), timeout.Token);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            return await ReadReplyAsync(reader, timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"Redis on port {Port} did not answer {arguments[0]} within {CommandTimeout}.");
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        catch (TimeoutException)
        {
            // Leave it to the OS; nothing else to do from disposal.
        }
        _process?.Dispose();
        try
        {
            _directory.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static async Task<string> ReadReplyAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        var line = await reader.ReadLineAsync(cancellationToken) ?? throw new IOException("Redis closed the connection.");
        var value = line[1..];
        switch (line[0])
        {
            case '+':
            case ':':
                return value;
            case '-':
                throw new InvalidOperationException("Redis answered: " + value);
            case '$':
                var length = int.Parse(value, CultureInfo.InvariantCulture);
                return length < 0 ? "" : await reader.ReadLineAsync(cancellationToken) ?? "";
            case '*':
                var count = int.Parse(value, CultureInfo.InvariantCulture);
                var items = new List<string>();
                for (var i = 0; i < count; i++)
                {
                    items.Add(await ReadReplyAsync(reader, cancellationToken));
                }
                return string.Join(' ', items);
            default:
                throw new IOException("Unexpected Redis reply: " + line);
        }
    }

    /// <summary>REALTIME_TEST_REDIS_SERVER (set by ./test.sh), else redis-server on PATH; fails loudly when neither.</summary>
    private static string FindBinary()
    {
        if (Environment.GetEnvironmentVariable("REALTIME_TEST_REDIS_SERVER") is { Length: > 0 } configured)
        {
            return File.Exists(configured)
                ? configured
                : throw new InvalidOperationException($"REALTIME_TEST_REDIS_SERVER is {configured}, which does not exist. Install Redis: {InstallCommand}");
        }
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, "redis-server");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new InvalidOperationException(
            $"redis-server was not found (REALTIME_TEST_REDIS_SERVER is not set and it is not on PATH). Install it: {InstallCommand}");
    }
}
