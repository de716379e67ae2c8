using System.Diagnostics;
using Orchestrator.DataPipeline.Loading;

namespace Orchestrator.DataPipeline.Benchmarks;

/// <summary>
/// Streams a corpus through <see cref="TokenLoader"/> as a trainer would (NextBatch in a loop, nothing else) and
/// measures tokens per second of wall time and per CPU-second of the process (one core's worth of work, fair on a
/// busy machine), and the process' peak resident memory (VmHWM).
/// </summary>
public static class LoaderBenchmark
{
    public sealed record Result(
        string Data, int Rank, int WorldSize, int Batch, int BlockSize, long Tokens, long CorpusTokens, double Seconds, double CpuSeconds,
        double TokensPerSecond, double TokensPerCpuSecond, double PeakRssMb, double CorpusMb,
        double AllocatedBytesPerToken, double GcCommittedMb, int Gen2Collections);

    public static Result Run(LoaderOptions options, long maxTokens, TimeSpan maxTime, CancellationToken ct = default)
    {
        using var loader = TokenLoader.Open(options);
        int n = options.BatchSize * options.BlockSize;
        var x = new long[n];
        var y = new long[n];
        // The whole split once by this rank's share, unless capped.
        long epochTokens = loader.BlocksPerEpoch * options.BlockSize / options.WorldSize;
        long target = Math.Min(maxTokens, epochTokens);
        loader.NextBatch(x, y); // warm-up: opens the first shard, JIT
        var proc = Process.GetCurrentProcess();
        var cpu0 = proc.TotalProcessorTime;
        long alloc0 = GC.GetTotalAllocatedBytes();
        int gen2 = GC.CollectionCount(2);
        var sw = Stopwatch.StartNew();
        long tokens = 0;
        long checksum = 0;
        while (tokens < target && sw.Elapsed < maxTime)
        {
            ct.ThrowIfCancellationRequested();
            loader.NextBatch(x, y);
            checksum += x[0] + y[^1]; // touch the data
            tokens += n;
        }
        var wall = sw.Elapsed.TotalSeconds;
        proc.Refresh();
        var cpu = (proc.TotalProcessorTime - cpu0).TotalSeconds;
        GC.KeepAlive(checksum);
        long corpusBytes = loader.Manifest.Train.Shards.Concat(loader.Manifest.Val.Shards).Sum(s => s.Bytes);
        return new Result(options.CorpusDir, options.Rank, options.WorldSize, options.BatchSize, options.BlockSize, tokens,
            loader.Manifest.Tokens, Math.Round(wall, 3), Math.Round(cpu, 3), Math.Round(tokens / wall), Math.Round(tokens / Math.Max(cpu, 1e-9)),
            Math.Round(PeakRssMb(), 1), Math.Round(corpusBytes / 1e6, 1),
            Math.Round((GC.GetTotalAllocatedBytes() - alloc0) / (double)Math.Max(tokens, 1), 3),
            Math.Round(GC.GetGCMemoryInfo().TotalCommittedBytes / 1e6, 1), GC.CollectionCount(2) - gen2);
    }

    /// <summary>Peak resident set size of this process (Linux /proc/self/status VmHWM), in MB.</summary>
    public static double PeakRssMb()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
        }
        catch (IOException) { }
        return Environment.WorkingSet / 1e6;
    }
}
