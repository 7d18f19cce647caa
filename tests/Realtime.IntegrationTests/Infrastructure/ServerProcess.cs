using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;

namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>
/// A Realtime node as a real child process (<c>dotnet Realtime.Server.dll</c>, built beside the tests in
/// the same configuration), configured only through the environment variables of the contract, so a
/// test can SIGKILL it (<see cref="Kill"/>): no graceful shutdown, its sockets simply vanish.
/// Its stdout/stderr are kept in <see cref="Output"/> for failure messages.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(10);

    private readonly Process _process;

    private ServerProcess(Process process, Uri baseAddress, ScaleOutProcessOutput output)
    {
        _process = process;
        BaseAddress = baseAddress;
        Output = output;
        AppDomain.CurrentDomain.ProcessExit += KillOnExit; // never outlive the test run
    }

    public Uri BaseAddress { get; }

    public TestTokens Tokens { get; } = TestTokens.Default;

    public ScaleOutProcessOutput Output { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Starts a node on <paramref name="postgres"/> (and <paramref name="redis"/> with
    /// <paramref name="channelPrefix"/>, when given) on a free loopback port, and waits until
    /// <c>/health/ready</c> answers 200. <paramref name="extraEnvironment"/> adds or overrides variables;
    /// <paramref name="descriptorLimit"/> starts it under <c>ulimit -n</c> of that many file descriptors.
    /// </summary>
    public static async Task<ServerProcess> StartAsync(
        string postgres,
        string? redis = null,
        string? channelPrefix = null,
        IDictionary<string, string>? extraEnvironment = null,
        int? descriptorLimit = null)
    {
        var dll = ServerDll();
        for (var attempt = 1; ; attempt++)
        {
            var port = ScaleOutPorts.FreeLoopbackPort();
            var baseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
            var startInfo = new ProcessStartInfo(descriptorLimit is null ? "dotnet" : "/bin/sh") { WorkingDirectory = Path.GetDirectoryName(dll)! };
            if (descriptorLimit is { } limit)
            {
                startInfo.ArgumentList.Add("-c"); // exec: the PID stays the node's own, so Kill reaches it
                startInfo.ArgumentList.Add($"ulimit -n {limit.ToString(CultureInfo.InvariantCulture)} && exec dotnet \"$0\"");
            }
            startInfo.ArgumentList.Add(dll);
            var environment = startInfo.Environment;
            // Inherited settings of the test run (e.g. its admin connection string) must not leak in.
            foreach (var key in environment.Keys.Where(k => k.StartsWith("ConnectionStrings__", StringComparison.Ordinal)).ToList())
            {
                environment.Remove(key);
            }
            environment["ASPNETCORE_URLS"] = baseAddress.ToString().TrimEnd('/');
            environment["ASPNETCORE_ENVIRONMENT"] = "Production";
            environment["ConnectionStrings__Postgres"] = postgres;
            if (redis is not null)
            {
                environment["ConnectionStrings__Redis"] = redis;
            }
            if (channelPrefix is not null)
            {
                environment["Redis__ChannelPrefix"] = channelPrefix;
            }
            environment["Auth__SigningKey"] = TestTokens.Default.SigningKey;
            environment["Auth__Issuer"] = TestTokens.Default.Issuer;
            environment["Auth__Audience"] = TestTokens.Default.Audience;
            environment["RateLimits__SendsPerSecond"] = "0";
            environment["RateLimits__UserRequestsPerSecond"] = "0";
            environment["RateLimits__HubInvocationsPerSecond"] = "0";
            environment["RateLimits__AnonymousRequestsPerSecond"] = "0";
            if (Directory.Exists(Path.Combine(RepositoryRoot(), "src", "Realtime.Server", "Presence")))
            {
                environment["Presence__NodeTimeoutSeconds"] = "3";
            }
            foreach (var (key, value) in extraEnvironment ?? new Dictionary<string, string>())
            {
                environment[key] = value;
            }

            var output = new ScaleOutProcessOutput();
            output.Note($"starting {dll} on {baseAddress}");
            var server = new ServerProcess(output.Start(startInfo), baseAddress, output);
            try
            {
                await server.WaitUntilReadyAsync();
                return server;
            }
            catch (Exception) when (attempt < 3 && server.HasExited && output.ToString().Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                await server.DisposeAsync(); // someone took the port meanwhile: another one
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>An HTTP client for this node, with a bearer token when given.</summary>
    public HttpClient CreateApiClient(string? token = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }
        return client;
    }

    /// <summary>SIGKILL, the whole process tree: no shutdown hook runs, every socket of the node closes at once.</summary>
    public void Kill()
    {
        if (_process.HasExited)
        {
            return;
        }
        Output.Note("SIGKILL");
        _process.Kill(entireProcessTree: true);
        if (!_process.WaitForExit(ExitTimeout))
        {
            throw new TimeoutException($"The node (pid {_process.Id}) did not exit within {ExitTimeout} of SIGKILL.");
        }
    }

    /// <summary>SIGSTOP (<paramref name="frozen"/>) or SIGCONT: a frozen node runs none of its code (it accepts nothing), while the kernel keeps its sockets.</summary>
    public void Freeze(bool frozen)
    {
        Output.Note(frozen ? "SIGSTOP" : "SIGCONT");
        if (Signal(_process.Id, frozen ? SigStop : SigCont) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}) failed: errno {Marshal.GetLastPInvokeError().ToString(CultureInfo.InvariantCulture)}");
        }
    }

    private const int SigStop = 19;
    private const int SigCont = 18;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Signal(int pid, int signal);

    /// <summary>Runs <paramref name="body"/>; when it fails, the failure message carries this node's output.</summary>
    public async Task WithOutputOnFailureAsync(Func<Task> body)
    {
        try
        {
            await body();
        }
        catch (Exception ex)
        {
            throw new Xunit.Sdk.XunitException($"{ex.GetType().Name}: {ex.Message}\n---- output of the child node ({BaseAddress}) ----\n{Output}", ex);
        }
    }

    public ValueTask DisposeAsync()
    {
        AppDomain.CurrentDomain.ProcessExit -= KillOnExit;
        try
        {
            Kill();
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Gone already, or the OS will reap it; disposal must not throw.
        }
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>The folder holding Realtime.sln, found by walking up from the test assembly.</summary>
    public static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Realtime.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException($"No Realtime.sln above {AppContext.BaseDirectory}.");
    }

    /// <summary>The configuration the tests were built in (Debug/Release): the folder after <c>bin</c> in the test assembly's path.</summary>
    public static string BuildConfiguration()
    {
        var parts = AppContext.BaseDirectory.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        var bin = Array.LastIndexOf(parts, "bin");
        return bin >= 0 && bin + 1 < parts.Length
            ? parts[bin + 1]
            : throw new InvalidOperationException($"Cannot tell the build configuration from {AppContext.BaseDirectory}.");
    }

    /// <summary>The server built beside the tests (same configuration).</summary>
    internal static string ServerDll() => BuiltDll("src/Realtime.Server", "Realtime.Server.dll");

    /// <summary>The vanilla SignalR baseline of the load test, built beside the tests (same configuration).</summary>
    internal static string BaselineDll() => BuiltDll("loadtest/Baselines/VanillaSignalR", "VanillaSignalR.dll");

    private static string BuiltDll(string project, string name)
    {
        var configuration = BuildConfiguration();
        var dll = Path.Combine(RepositoryRoot(), project, "bin", configuration, "net10.0", name);
        return File.Exists(dll)
            ? dll
            : throw new InvalidOperationException($"{dll} does not exist. Build it first: dotnet build {project} -c {configuration}");
    }

    private Task WaitUntilReadyAsync() => Eventually.WaitUntilServingAsync(
        BaseAddress, "/health/ready", () => _process.HasExited ? $"the node exited with code {_process.ExitCode} while starting" : null,
        StartTimeout, $"ready at {BaseAddress}", () => Output.ToString());

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
