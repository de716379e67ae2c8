using System.CommandLine;
using Orchestrator.Cli.Hosting;
using Orchestrator.DataPipeline.Benchmarks;
using Orchestrator.DataPipeline.Loading;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// `orch bench data --data DIR`: loader tokens/s (wall and per CPU-second) and peak RSS while streaming a corpus;
/// `orch bench data generate --out DIR --tokens N`: a random-token corpus of any size to stream.
/// Prepare throughput is `orch data prepare --json` (megabytes_per_second). The loader is CPU-only, so its
/// figures need no GPU.
/// </summary>
public static class BenchDataCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "A prepared corpus folder", Required = true };
        var split = new Option<string>("--split") { Description = "train or val", DefaultValueFactory = _ => "train" };
        var batch = new Option<int>("--batch") { Description = "Sequences per batch", DefaultValueFactory = _ => 16 };
        var block = new Option<int>("--block-size") { Description = "Tokens per sequence (default: the corpus block size)" };
        var world = new Option<int>("--world-size") { Description = "World size to simulate (this process is one rank)", DefaultValueFactory = _ => 1 };
        var rank = new Option<int>("--rank") { Description = "Rank to simulate", DefaultValueFactory = _ => 0 };
        var maxTokens = new Option<long>("--max-tokens") { Description = "Stop after this many tokens (default: the rank's whole epoch)", DefaultValueFactory = _ => long.MaxValue };
        var seconds = new Option<double>("--seconds") { Description = "Stop after this many seconds", DefaultValueFactory = _ => 600 };
        var json = new Option<bool>("--json") { Description = "Print one JSON document" };
        var cmd = new Command("data", "Loader throughput (tokens/s) and peak RSS; `generate` makes a corpus of any size")
            { data, split, batch, block, world, rank, maxTokens, seconds, json };
        CliAction.Set(cmd, pr =>
        {
            var dir = pr.GetValue(data)!;
            int t = pr.GetValue(block);
            if (t == 0) t = DataPipeline.Corpus.CorpusManifest.Read(dir).BlockSize;
            var r = LoaderBenchmark.Run(new LoaderOptions(dir, pr.GetValue(split)!, pr.GetValue(batch), t, pr.GetValue(rank), pr.GetValue(world)),
                pr.GetValue(maxTokens), TimeSpan.FromSeconds(pr.GetValue(seconds)));
            if (pr.GetValue(json)) JsonOutput.Write(r);
            else
            {
                Console.WriteLine($"loader: {r.TokensPerSecond / 1e6:F1} M tokens/s wall, {r.TokensPerCpuSecond / 1e6:F1} M tokens per CPU-second");
                Console.WriteLine($"        {r.Tokens:N0} tokens in {r.Seconds:F1} s ({r.CpuSeconds:F1} CPU-s), rank {r.Rank}/{r.WorldSize}, batch {r.Batch} x {r.BlockSize}");
                Console.WriteLine($"        peak RSS {r.PeakRssMb:F0} MB streaming a {r.CorpusMb:F0} MB corpus");
            }
            return CliAction.Ok;
        });

        var outDir = new Option<string>("--out") { Description = "New folder for the generated corpus", Required = true };
        var tokens = new Option<long>("--tokens") { Description = "Tokens to generate (uint16, 2 bytes each on disk)", Required = true };
        var genBlock = new Option<int>("--block-size") { Description = "Corpus block size", DefaultValueFactory = _ => 1024 };
        var compression = new Option<Parquet.CompressionMethod>("--compression") { Description = "Shard compression (Zstd, Snappy, None, ...)", DefaultValueFactory = _ => Parquet.CompressionMethod.Zstd };
        var generate = new Command("generate", "Write a corpus of random token ids (uint16, vocab 50257) for loader benchmarks") { outDir, tokens, genBlock, compression, json };
        CliAction.Set(generate, async (pr, ct) =>
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            long next = 0;
            var m = await SyntheticCorpus.WriteAsync(pr.GetValue(outDir)!, pr.GetValue(tokens), pr.GetValue(genBlock), progress: n =>
            {
                if (n < next) return;
                next = n + 100_000_000;
                Console.Error.WriteLine($"generate: {n / 1e6:F0}M tokens, {sw.Elapsed.TotalSeconds:F0} s");
            }, compression: pr.GetValue(compression), ct: ct);
            var bytes = m.Train.Shards.Concat(m.Val.Shards).Sum(s => s.Bytes);
            if (pr.GetValue(json)) JsonOutput.Write(new { m.Tokens, Shards = m.Train.Shards.Count + m.Val.Shards.Count, Bytes = bytes, Seconds = sw.Elapsed.TotalSeconds });
            else Console.WriteLine($"wrote {m.Tokens:N0} tokens, {bytes / 1e6:F0} MB in {m.Train.Shards.Count + m.Val.Shards.Count} shards, {sw.Elapsed.TotalSeconds:F0} s");
            return CliAction.Ok;
        });
        cmd.Subcommands.Add(generate);
        return cmd;
    }
}
