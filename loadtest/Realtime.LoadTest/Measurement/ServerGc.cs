using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;

namespace Realtime.LoadTest.Measurement;

/// <summary>
/// Has a .NET server on this machine run a full blocking GC, through the runtime's diagnostics port
/// (as <c>dotnet-gcdump</c> does: an EventPipe session enabling the runtime's GCHeapCollect keyword),
/// so the heap it reports next holds live objects only. Works on any .NET process the tool may
/// reach, Realtime and the baseline alike; nothing in either server is needed for it.
/// </summary>
internal static class ServerGc
{
    private const long GcKeyword = 0x1;
    private const long GcHeapCollectKeyword = 0x800000;

    /// <summary>False when the process cannot be reached (another user, no diagnostics port, not .NET).</summary>
    public static async Task<bool> CollectAsync(int? pid, CancellationToken cancellationToken)
    {
        if (pid is null)
        {
            return false;
        }
        try
        {
            var client = new DiagnosticsClient(pid.Value);
            var provider = new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, GcKeyword | GcHeapCollectKeyword);
            using var session = await client.StartEventPipeSessionAsync([provider], requestRundown: false, circularBufferMB: 16, cancellationToken);
            var drain = session.EventStream.CopyToAsync(Stream.Null, cancellationToken);
            // The runtime collects when the keyword is enabled; give it time to finish before stopping.
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            await session.StopAsync(cancellationToken);
            await drain.WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is ServerNotAvailableException or UnsupportedCommandException or IOException or TimeoutException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
