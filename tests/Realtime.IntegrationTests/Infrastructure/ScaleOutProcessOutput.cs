using System.Diagnostics;
using System.Text;

namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>
/// The stdout and stderr of a child process (Redis, a node, nginx), kept for failure messages: the
/// last <see cref="MaxLines"/> lines, interleaved as they arrived. Thread-safe.
/// </summary>
public sealed class ScaleOutProcessOutput
{
    public const int MaxLines = 400;

    private readonly Queue<string> _lines = new();
    private readonly Lock _gate = new();
    private int _dropped;

    /// <summary>Starts <paramref name="startInfo"/> (stdout and stderr redirected here) and begins reading both.</summary>
    public Process Start(ProcessStartInfo startInfo)
    {
        startInfo.RedirectStandardOutput = true;
        startInfo.RedirectStandardError = true;
        startInfo.RedirectStandardInput = false;
        startInfo.UseShellExecute = false;
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Add(e.Data, "");
        process.ErrorDataReceived += (_, e) => Add(e.Data, "[stderr] ");
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start {startInfo.FileName}.");
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Adds a line of the test's own (e.g. "killed"), so the output reads as a timeline.</summary>
    public void Note(string line) => Add($"---- {DateTime.UtcNow:HH:mm:ss.fff} {line}", "");

    public override string ToString()
    {
        lock (_gate)
        {
            var text = new StringBuilder();
            if (_dropped > 0)
            {
                text.Append("(... ").Append(_dropped).AppendLine(" earlier lines)");
            }
            foreach (var line in _lines)
            {
                text.AppendLine(line);
            }
            return text.ToString();
        }
    }

    private void Add(string? line, string prefix)
    {
        if (line is null)
        {
            return;
        }
        lock (_gate)
        {
            _lines.Enqueue(prefix + line);
            while (_lines.Count > MaxLines)
            {
                _lines.Dequeue();
                _dropped++;
            }
        }
    }
}
