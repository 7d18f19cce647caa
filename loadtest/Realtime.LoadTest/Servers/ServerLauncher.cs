using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Realtime.LoadTest.Servers;

/// <summary>
/// A target the tool runs itself: <c>/bin/sh -c "exec COMMAND"</c> with <c>ASPNETCORE_URLS</c> set to
/// the target's URL (so the PID is the server's own), its output appended to a log file in the temp
/// directory. The storm kills it with SIGKILL and starts it again.
/// </summary>
internal sealed partial class ServerLauncher(Target target) : IAsyncDisposable
{
    /// <summary>The server's rate limits: a load test measures the server, not its limits, so a launched server has them off.</summary>
    public static readonly string[] RateLimitVariables =
        ["RateLimits__SendsPerSecond", "RateLimits__UserRequestsPerSecond", "RateLimits__HubInvocationsPerSecond", "RateLimits__AnonymousRequestsPerSecond"];

    /// <summary>What to set on a server the tool does not launch.</summary>
    public static string RateLimitsOff => string.Join(' ', RateLimitVariables.Select(v => v + "=0"));

    /// <summary>"off", or the limits left on by the tool's own environment (which a launched server inherits).</summary>
    public static string DescribeRateLimits(IDictionary<string, string?> environment)
    {
        var on = RateLimitVariables.Where(v => environment.TryGetValue(v, out var value) && value is not null && value.Trim() != "0").Select(v => $"{v}={environment[v]}").ToList();
        return on.Count == 0 ? "off (" + RateLimitsOff + ")" : "ON: " + string.Join(' ', on) + " (429s and refused invocations will show)";
    }

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(90);
    private Process? _process;

    public string LogPath { get; } = Path.Combine(Path.GetTempPath(), $"realtime-loadtest-{target.Name}.log");

    /// <summary>The launched server's rate limits, as <see cref="DescribeRateLimits"/> says them.</summary>
    public string RateLimits { get; private set; } = "";

    public int? Pid => _process is { HasExited: false } p ? p.Id : null;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (await IsListeningAsync(target.Url))
        {
            var owner = Measurement.ServerProbe.FindListener(target.Url.Port);
            throw new InvalidOperationException($"{target.Url} is already in use (by PID {owner?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"}): pick another port for {target.Name}");
        }
        var info = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("exec " + target.Command);
        info.Environment["ASPNETCORE_URLS"] = target.Url.GetLeftPart(UriPartial.Authority);
        foreach (var variable in RateLimitVariables)
        {
            info.Environment.TryAdd(variable, "0"); // unless the tool's environment sets it (then it is printed as on)
        }
        RateLimits = DescribeRateLimits(info.Environment);
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + target.Command);
        _process = process;
        var log = new StreamWriter(LogPath, append: true) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.Exited += (_, _) => { lock (log) log.Dispose(); };
        process.EnableRaisingEvents = true;
        await WaitReadyAsync(target.Url, process, cancellationToken);
    }

    /// <summary>SIGKILL: no graceful shutdown, its sockets simply vanish.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    private static async Task<bool> IsListeningAsync(Uri url)
    {
        using var client = new System.Net.Sockets.TcpClient();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await client.ConnectAsync(url.Host, url.Port, timeout.Token);
            return true;
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    public static async Task WaitReadyAsync(Uri url, Process? process, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.GetTimestamp() + (long)(ReadyTimeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            if (process is { HasExited: true })
            {
                throw new InvalidOperationException($"the server exited with {process.ExitCode} before it was ready");
            }
            try
            {
                using var response = await http.GetAsync("/health/ready", cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"{url} was not ready within {ReadyTimeout.TotalSeconds} s");
            }
            await Task.Delay(50, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false } process)
        {
            _ = Kill(process.Id, 15); // SIGTERM: a graceful stop
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill();
            }
        }
        _process?.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
