using Parquet;

namespace Orchestrator.DataPipeline.Corpus;

/// <summary>
/// Parquet.Net options every reader and writer here uses. Parquet.Net pools its buffers in a
/// RecyclableMemoryStreamManager that by default keeps every freed buffer forever ("indistinguishable from a
/// memory leak", its own docs say); the cap lets the GC have them back.
/// </summary>
static class ParquetSettings
{
    const int MaxPooledFreeBytes = 16 << 20;

    public static ParquetOptions Reading() => new()
    {
        MaximumSmallPoolFreeBytes = MaxPooledFreeBytes,
        MaximumLargePoolFreeBytes = MaxPooledFreeBytes,
    };

    public static ParquetOptions Writing(CompressionMethod compression) => new()
    {
        CompressionMethod = compression,
        // Parquet.Net's default level is SmallestSize, which made zstd about 80x slower for a few percent.
        CompressionLevel = System.IO.Compression.CompressionLevel.Fastest,
        MaximumSmallPoolFreeBytes = MaxPooledFreeBytes,
        MaximumLargePoolFreeBytes = MaxPooledFreeBytes,
    };
}
