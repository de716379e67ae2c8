using System.Diagnostics;
using System.Globalization;
using Orchestrator.Sharding.Communication;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Benchmarks;

/// <summary>One message size: nccl-tests' definitions, algbw = bytes / time, busbw = algbw x 2(n-1)/n for all-reduce.</summary>
public sealed record AllReduceSample(long Bytes, long Elements, double TimeUs, double AlgbwGbps, double BusbwGbps);

/// <summary>
/// The all-reduce sweep of `orch bench comm` (nccl-tests all_reduce_perf style: sizes doubling from min to max,
/// warm-up iterations, then the mean time of timed iterations, in-place, sum). Collective: every rank runs it.
/// The time is averaged over ranks; GB/s are 1e9 bytes per second, as nccl-tests prints them.
/// </summary>
public static class AllReduceBenchmark
{
    public static IReadOnlyList<AllReduceSample> Run(ICommunicator comm, long minBytes, long maxBytes, int warmup, int iters,
        ScalarType dtype, Device device, Action<AllReduceSample>? progress = null)
    {
        if (minBytes < 4 || maxBytes < minBytes) throw new ArgumentException($"sizes: need 4 <= --min <= --max, got {minBytes} and {maxBytes}");
        if (iters < 1 || warmup < 0) throw new ArgumentException("--iters must be >= 1 and --warmup-iters >= 0");
        var results = new List<AllReduceSample>();
        var es = dtype == ScalarType.BFloat16 ? 2 : 4;
        for (var bytes = minBytes; bytes <= maxBytes; bytes *= 2)
        {
            var n = bytes / es;
            using var t = ones(n, dtype: dtype, device: device);
            for (var i = 0; i < warmup; i++) comm.AllReduce(t);
            comm.Barrier();
            var sw = Stopwatch.StartNew();
            // Queued back to back, as nccl-tests launches its iterations, then one wait for the last.
            var tasks = new List<Task>(iters);
            for (var i = 0; i < iters; i++) tasks.Add(comm.AllReduceAsync(t));
            foreach (var task in tasks) CommunicatorExtensions.Wait(task);
            var us = sw.Elapsed.TotalMicroseconds / iters;
            using var mean = tensor(new[] { (float)us }, device: device);
            comm.AllReduce(mean, ReduceOp.Avg);
            using (var host = mean.cpu()) us = host.item<float>(); // held until item() has read it
            var algbw = n * es / (us * 1e-6) / 1e9;
            var w = comm.WorldSize;
            var sample = new AllReduceSample(n * es, n, us, algbw, w == 1 ? 0 : algbw * 2 * (w - 1) / w);
            results.Add(sample);
            progress?.Invoke(sample);
        }
        return results;
    }

    /// <summary>"1M" = 1,048,576 bytes (K, M, G are binary, as in nccl-tests' -b/-e).</summary>
    public static long ParseSize(string text, string flag)
    {
        var s = text.Trim().ToUpperInvariant();
        long mult = 1;
        if (s.EndsWith('B')) s = s[..^1];
        if (s.EndsWith('K')) { mult = 1L << 10; s = s[..^1]; }
        else if (s.EndsWith('M')) { mult = 1L << 20; s = s[..^1]; }
        else if (s.EndsWith('G')) { mult = 1L << 30; s = s[..^1]; }
        if (!long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v <= 0)
            throw new ArgumentException($"{flag} '{text}' is not a size; use bytes or K/M/G, e.g. 1M or 1G");
        return v * mult;
    }
}
