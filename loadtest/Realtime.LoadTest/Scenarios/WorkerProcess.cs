using System.Diagnostics;
using System.Globalization;

namespace Realtime.LoadTest.Scenarios;

/// <summary>
/// This tool run again as a worker (<c>--worker</c>) holding a share of the connections, for runs past
/// the per-process file-descriptor cap: it gets the parent's arguments for one target (never its
/// --command: the parent runs the server), talks by lines on stdin and stdout, and is killed if
/// still running when disposed.
/// </summary>
internal sealed class WorkerProcess : IDisposable
{
    private readonly Process _process;

    private WorkerProcess(Process process) => _process = process;

    /// <summary>Starts a worker holding <paramref name="count"/> connections of users from global index <paramref name="offset"/>.</summary>
    public static WorkerProcess Start(string[] rawArgs, Target target, LoadTestOptions options, int count, int offset) =>
        new(Process.Start(StartInfo(rawArgs, target, options.RunId, count, offset)) ?? throw new InvalidOperationException("could not start a worker process"));

    /// <summary>
    /// How to start a worker: the parent's arguments for <paramref name="target"/> only (its name and every
    /// node of it; no --command, -n, --json or --run-id of the parent's), quiet, with its share and offset.
    /// </summary>
    public static ProcessStartInfo StartInfo(string[] rawArgs, Target target, string runId, int count, int offset)
    {
        // `dotnet Realtime.LoadTest.dll`, whatever started this process (its apphost, dotnet, a test host).
        var host = Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
        var info = new ProcessStartInfo(host) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add(typeof(WorkerProcess).Assembly.Location);
        info.ArgumentList.Add(rawArgs[0]);
        for (var i = 1; i < rawArgs.Length; i++)
        {
            if (rawArgs[i] is "-n" or "--connections" or "--json" or "--target" or "-t" or "--command" or "--run-id" or "--user-offset")
            {
                i++;
                continue;
            }
            if (rawArgs[i] is not ("--worker" or "-q" or "--quiet"))
            {
                info.ArgumentList.Add(rawArgs[i]);
            }
        }
        foreach (var arg in new[]
        {
            "--target", target.ClientSpec(), "--quiet", "--worker",
            "--connections", count.ToString(CultureInfo.InvariantCulture),
            "--user-offset", offset.ToString(CultureInfo.InvariantCulture),
            "--run-id", runId,
        })
        {
            info.ArgumentList.Add(arg);
        }
        return info;
    }

    public async Task SendAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>The rest of the first line starting with <paramref name="prefix"/> (other lines are skipped).</summary>
    public async Task<string> ReadAsync(string prefix, CancellationToken cancellationToken)
    {
        while (await _process.StandardOutput.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return line[prefix.Length..];
            }
        }
        throw new InvalidOperationException($"a worker process exited (code {(_process.WaitForExit(1000) ? _process.ExitCode : -1)}) before it said {prefix.Trim()}");
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }
        _process.Dispose();
    }
}
