using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>
/// Debian's nginx in front of some nodes, as a child process (<c>daemon off</c>) with everything it
/// writes (pid, logs, temp files) in a temp folder of its own. The <c>http</c> block is generated like
/// <c>deploy/nginx/nginx.conf</c> (the same map, an <c>upstream realtime</c> with <c>ip_hash</c> and
/// keep-alive) and its <c>server</c> includes the repository's <c>deploy/nginx/realtime-locations.conf</c>
/// as is, so the tests exercise the proxy settings that ship.
/// </summary>
public sealed class NginxProcess : IAsyncDisposable
{
    public const string DebianBinary = "/usr/sbin/nginx";
    private const string InstallCommand = "apt-get install -y nginx";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(10);

    private readonly Process _process;
    private readonly DirectoryInfo _directory;

    private NginxProcess(Process process, DirectoryInfo directory, int port, ScaleOutProcessOutput output)
    {
        _process = process;
        _directory = directory;
        Output = output;
        BaseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        AppDomain.CurrentDomain.ProcessExit += KillOnExit;
    }

    /// <summary>Where nginx listens: the address a client of the deployment uses.</summary>
    public Uri BaseAddress { get; }

    public ScaleOutProcessOutput Output { get; }

    /// <summary>nginx's access log so far (written with deploy/nginx/realtime-logging.conf's format).</summary>
    public string AccessLog
    {
        get
        {
            var path = Path.Combine(_directory.FullName, "access.log");
            try
            {
                return File.Exists(path) ? File.ReadAllText(path) : "";
            }
            catch (IOException)
            {
                return "";
            }
        }
    }

    /// <summary>nginx's error log so far (and its stdout/stderr), for failure messages.</summary>
    public string Diagnostics
    {
        get
        {
            var errorLog = Path.Combine(_directory.FullName, "error.log");
            string log;
            try
            {
                log = File.Exists(errorLog) ? File.ReadAllText(errorLog) : "(no error.log)";
            }
            catch (IOException ex)
            {
                log = ex.Message;
            }
            return $"---- nginx error.log ----\n{log}\n---- nginx output ----\n{Output}";
        }
    }

    /// <summary>
    /// Starts nginx on a free loopback port in front of <paramref name="upstreams"/> and waits until
    /// <c>/health/live</c> answers 200 through it.
    /// </summary>
    public static async Task<NginxProcess> StartAsync(params Uri[] upstreams)
    {
        var binary = FindBinary();
        var locations = Path.Combine(ServerProcess.RepositoryRoot(), "deploy", "nginx", "realtime-locations.conf");
        var logging = Path.Combine(ServerProcess.RepositoryRoot(), "deploy", "nginx", "realtime-logging.conf");
        if (!File.Exists(locations))
        {
            throw new InvalidOperationException($"{locations} does not exist: the tests use the repository's own proxy settings.");
        }
        for (var attempt = 1; ; attempt++)
        {
            var directory = Directory.CreateTempSubdirectory("realtime-nginx-");
            var port = ScaleOutPorts.FreeLoopbackPort();
            var config = Path.Combine(directory.FullName, "nginx.conf");
            await File.WriteAllTextAsync(config, Configuration(directory.FullName, port, upstreams, locations, logging));

            var startInfo = new ProcessStartInfo(binary) { WorkingDirectory = directory.FullName };
            foreach (var argument in new[]
                     {
                         "-p", directory.FullName + "/", "-c", config, "-e", Path.Combine(directory.FullName, "error.log"),
                         "-g", "daemon off;",
                     })
            {
                startInfo.ArgumentList.Add(argument);
            }
            var output = new ScaleOutProcessOutput();
            output.Note($"starting nginx on port {port} in front of {string.Join(", ", upstreams.Select(u => u.Authority))}");
            var nginx = new NginxProcess(output.Start(startInfo), directory, port, output);
            try
            {
                await nginx.WaitUntilServingAsync();
                return nginx;
            }
            catch (Exception) when (attempt < 3 && nginx._process.HasExited && nginx.Diagnostics.Contains("Address already in use", StringComparison.Ordinal))
            {
                await nginx.DisposeAsync(); // someone took the port meanwhile: another one
            }
            catch
            {
                await nginx.DisposeAsync();
                throw;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        AppDomain.CurrentDomain.ProcessExit -= KillOnExit;
        try
        {
            if (!_process.HasExited)
            {
                Output.Note("stopping");
                _process.Kill(entireProcessTree: true); // the master and its workers
                await _process.WaitForExitAsync().WaitAsync(ExitTimeout);
            }
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            // Gone already, or the OS will reap it; disposal must not throw.
        }
        _process.Dispose();
        try
        {
            _directory.Delete(recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static string Configuration(string directory, int port, IEnumerable<Uri> upstreams, string locations, string logging)
    {
        string In(string name) => Path.Combine(directory, name);
        var servers = string.Concat(upstreams.Select(u => $"        server {u.Host}:{u.Port.ToString(CultureInfo.InvariantCulture)};\n"));
        // As root, nginx would run its workers as "nobody", who cannot write into this private folder.
        var user = Environment.UserName == "root" ? "user root;\n" : "";
        return new StringBuilder()
            .Append("# Generated by the integration tests, like deploy/nginx/nginx.conf.\n")
            .Append(user)
            .Append("worker_processes 1;\n")
            .Append($"pid {In("nginx.pid")};\n")
            .Append($"error_log {In("error.log")} info;\n")
            .Append("events { worker_connections 512; }\n")
            .Append("http {\n")
            .Append($"    include {logging};\n")
            .Append($"    access_log {In("access.log")} realtime_redacted;\n")
            .Append($"    client_body_temp_path {In("client_body_temp")};\n")
            .Append($"    proxy_temp_path {In("proxy_temp")};\n")
            .Append($"    fastcgi_temp_path {In("fastcgi_temp")};\n")
            .Append($"    uwsgi_temp_path {In("uwsgi_temp")};\n")
            .Append($"    scgi_temp_path {In("scgi_temp")};\n")
            .Append("    map $http_upgrade $connection_upgrade {\n        default upgrade;\n        ''      '';\n    }\n")
            .Append("    upstream realtime {\n        ip_hash;\n").Append(servers).Append("        keepalive 32;\n    }\n")
            .Append("    server {\n")
            .Append($"        listen 127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)};\n")
            .Append($"        include {locations};\n")
            .Append("    }\n")
            .Append("}\n")
            .ToString();
    }

    private static string FindBinary()
    {
        if (File.Exists(DebianBinary))
        {
            return DebianBinary;
        }
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, "nginx");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new InvalidOperationException($"nginx was not found at {DebianBinary} nor on PATH. Install it: {InstallCommand}");
    }

    private Task WaitUntilServingAsync() => Eventually.WaitUntilServingAsync(
        BaseAddress, "/health/live", () => _process.HasExited ? $"nginx exited with code {_process.ExitCode} while starting" : null,
        StartTimeout, $"nginx passing /health/live at {BaseAddress}", () => Diagnostics);

    private void KillOnExit(object? sender, EventArgs e)
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (Exception)
        {
            // Best effort while the test host exits.
        }
    }
}
