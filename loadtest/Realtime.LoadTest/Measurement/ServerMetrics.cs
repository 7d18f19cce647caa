using System.Globalization;

namespace Realtime.LoadTest.Measurement;

/// <summary>
/// The server's managed heap, read from its Prometheus text at <c>GET /metrics</c>: the .NET runtime's
/// <c>dotnet.gc.last_collection.heap.size</c> less its free space
/// (<c>dotnet.gc.last_collection.heap.fragmentation.size</c>), summed over generations, and
/// <c>dotnet.gc.last_collection.memory.committed_size</c>. Both are as of the server's last GC,
/// which the tool cannot force: they include what that collection did not reclaim.
/// </summary>
internal static class ServerMetrics
{
    public const string HeapSize = "dotnet_gc_last_collection_heap_size_bytes";
    public const string Fragmentation = "dotnet_gc_last_collection_heap_fragmentation_size_bytes";
    public const string Committed = "dotnet_gc_last_collection_memory_committed_size_bytes";

    /// <summary>Null when the target has no <c>/metrics</c> or it lacks the runtime's GC figures.</summary>
    public static async Task<ManagedHeap?> ReadAsync(Uri server, CancellationToken cancellationToken)
    {
        try
        {
            using var http = new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromSeconds(10) };
            using var response = await http.GetAsync("/metrics", cancellationToken);
            return response.IsSuccessStatusCode ? Parse(await response.Content.ReadAsStringAsync(cancellationToken)) : null;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    public static ManagedHeap? Parse(string prometheusText)
    {
        double? heap = null, free = null, committed = null;
        foreach (var line in prometheusText.Split('\n'))
        {
            if (line.StartsWith(HeapSize, StringComparison.Ordinal) && Sample(line, HeapSize) is { } size)
            {
                heap = (heap ?? 0) + size;
            }
            else if (line.StartsWith(Fragmentation, StringComparison.Ordinal) && Sample(line, Fragmentation) is { } fragmented)
            {
                free = (free ?? 0) + fragmented;
            }
            else if (line.StartsWith(Committed, StringComparison.Ordinal) && Sample(line, Committed) is { } value)
            {
                committed = (committed ?? 0) + value;
            }
        }
        return heap is { } h ? new ManagedHeap((long)(h - (free ?? 0)), (long?)committed) : null;
    }

    /// <summary>The value of <c>NAME{labels} VALUE [timestamp]</c> or <c>NAME VALUE</c>; null for another metric sharing the prefix.</summary>
    private static double? Sample(string line, string name)
    {
        var rest = line.AsSpan(name.Length);
        if (rest.Length > 0 && rest[0] == '{')
        {
            var close = rest.IndexOf('}');
            if (close < 0)
            {
                return null;
            }
            rest = rest[(close + 1)..];
        }
        if (rest.Length == 0 || rest[0] != ' ')
        {
            return null;
        }
        rest = rest.TrimStart(' ');
        var end = rest.IndexOf(' ');
        return double.TryParse(end < 0 ? rest : rest[..end], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null;
    }
}

/// <summary>The GC heap (objects, not free space) after the last collection, and the memory the GC had committed then.</summary>
internal sealed record ManagedHeap(long HeapBytes, long? CommittedBytes);
