using System.Globalization;
using System.Text;

namespace Realtime.Baselines.VanillaSignalR;

/// <summary>
/// <c>GET /metrics</c>: the .NET runtime's GC figures Realtime exports (through OpenTelemetry), under
/// the same Prometheus names and read from the same <see cref="GC.GetGCMemoryInfo()"/>, so the load
/// test reads both servers' managed heap alike. Computed when asked: nothing runs between scrapes.
/// </summary>
internal static class RuntimeMetrics
{
    private static readonly string[] Generations = ["gen0", "gen1", "gen2", "loh", "poh"];

    public static string Prometheus()
    {
        var info = GC.GetGCMemoryInfo();
        var text = new StringBuilder();
        text.Append("# TYPE dotnet_gc_last_collection_heap_size_bytes gauge\n");
        for (var i = 0; i < Generations.Length && i < info.GenerationInfo.Length; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"dotnet_gc_last_collection_heap_size_bytes{{gc_heap_generation=\"{Generations[i]}\"}} {info.GenerationInfo[i].SizeAfterBytes}\n");
        }
        text.Append("# TYPE dotnet_gc_last_collection_heap_fragmentation_size_bytes gauge\n");
        for (var i = 0; i < Generations.Length && i < info.GenerationInfo.Length; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"dotnet_gc_last_collection_heap_fragmentation_size_bytes{{gc_heap_generation=\"{Generations[i]}\"}} {info.GenerationInfo[i].FragmentationAfterBytes}\n");
        }
        text.Append("# TYPE dotnet_gc_last_collection_memory_committed_size_bytes gauge\n");
        text.Append(CultureInfo.InvariantCulture, $"dotnet_gc_last_collection_memory_committed_size_bytes {info.TotalCommittedBytes}\n");
        return text.ToString();
    }
}
