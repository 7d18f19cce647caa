using Realtime.LoadTest.Measurement;

namespace Realtime.Server.Tests.LoadTest;

/// <summary>The load test's reading of a server's Prometheus text for its managed heap.</summary>
public sealed class LoadTestServerMetricsTests
{
    [Fact]
    public void HeapIsTheSumOverGenerationsLessFreeSpaceAndCommittedIsReadBeside()
    {
        var text = """
            # TYPE dotnet_gc_last_collection_heap_size_bytes gauge
            dotnet_gc_last_collection_heap_size_bytes{gc_heap_generation="gen0",otel_scope_name="System.Runtime"} 1000 1700000000000
            dotnet_gc_last_collection_heap_size_bytes{gc_heap_generation="gen2"} 2.5e3
            dotnet_gc_last_collection_heap_size_bytes_other 99999
            dotnet_gc_last_collection_heap_fragmentation_size_bytes{gc_heap_generation="gen2"} 500
            # TYPE dotnet_gc_last_collection_memory_committed_size_bytes gauge
            dotnet_gc_last_collection_memory_committed_size_bytes 8192
            """;

        var heap = ServerMetrics.Parse(text);

        Assert.NotNull(heap);
        Assert.Equal(3000, heap.HeapBytes);
        Assert.Equal(8192, heap.CommittedBytes);
    }

    [Fact]
    public void TextWithoutTheRuntimesGcFiguresHasNoHeap()
    {
        Assert.Null(ServerMetrics.Parse("realtime_connections 5\n"));
    }
}
