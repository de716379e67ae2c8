using System.CommandLine;
using Orchestrator.Cli.Hosting;
using Orchestrator.Sharding.Benchmarks;
using Orchestrator.Sharding.Communication;
using Orchestrator.Sharding.Launch;
using Orchestrator.Sharding.Interop;
using Orchestrator.Sharding.Ring;
using static TorchSharp.torch;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// `orch bench comm [--backend ring|nccl] [--nproc P] [--min 1M] [--max 1G] [--iters N] [--warmup-iters N]
/// [--dtype float32|bfloat16] [--json]`: all-reduce bus bandwidth per size, nccl-tests' definition. Without
/// RANK in the environment and with --nproc > 1 it launches P copies of itself (one per GPU for NCCL) and
/// prints rank 0's result; bench/allreduce_torch.py prints the same table through torch.distributed.
/// </summary>
public static class BenchCommCommand
{
    public sealed record Result(string Backend, int WorldSize, string Dtype, string Definition, IReadOnlyList<AllReduceSample> Results);

    public static Command Create()
    {
        var backend = new Option<string>("--backend") { Description = "ring (CPU, TCP) or nccl (GPU)", DefaultValueFactory = _ => "ring" };
        backend.AcceptOnlyFromAmong("ring", "nccl");
        var nproc = new Option<int>("--nproc") { Description = "Local ranks to start (one GPU each with nccl)", DefaultValueFactory = _ => 2 };
        var min = new Option<string>("--min") { Description = "Smallest message (bytes, K/M/G)", DefaultValueFactory = _ => "1M" };
        var max = new Option<string>("--max") { Description = "Largest message (bytes, K/M/G); sizes double from --min", DefaultValueFactory = _ => "1G" };
        var iters = new Option<int>("--iters") { Description = "Timed iterations per size", DefaultValueFactory = _ => 20 };
        var warmup = new Option<int>("--warmup-iters") { Description = "Untimed iterations per size", DefaultValueFactory = _ => 5 };
        var dtype = new Option<string>("--dtype") { Description = "float32 or bfloat16", DefaultValueFactory = _ => "float32" };
        dtype.AcceptOnlyFromAmong("float32", "bfloat16");
        var json = new Option<bool>("--json") { Description = "Print one JSON document" };
        var cmd = new Command("comm", "All-reduce bus bandwidth per message size (nccl-tests definition), ring or NCCL")
            { backend, nproc, min, max, iters, warmup, dtype, json };
        CliAction.Set(cmd, async (pr, ct) =>
        {
            var b = pr.GetValue(backend)!;
            var minBytes = AllReduceBenchmark.ParseSize(pr.GetValue(min)!, "--min");
            var maxBytes = AllReduceBenchmark.ParseSize(pr.GetValue(max)!, "--max");
            if (maxBytes < minBytes) throw new ArgumentException($"--max {maxBytes} is below --min {minBytes}");
            var env = RankEnvironment.Current;
            var p = pr.GetValue(nproc);
            if (p < 1) throw new ArgumentException($"--nproc {p}: need at least 1");
            if (env is null && p > 1) return await LaunchRanks(b, p, ct);
            var rank = env?.Rank ?? 0;
            var world = env?.WorldSize ?? 1;
            var info = TorchRuntime.Initialize();
            if (b == "nccl" && !info.Cuda)
                throw new BadInputException("--backend nccl needs CUDA GPUs and none is visible here (run 'orch doctor'; set ORCH_LIBTORCH to a CUDA libtorch); use --backend ring on CPU");
            var device = b == "nccl" ? CUDA : CPU;
            var master = env?.Master ?? $"127.0.0.1:{LocalPorts.FreePort()}";
            using var comm = CommunicatorFactory.CreateStandalone(b, rank, world, master, new RingOptions(TimeSpan.FromSeconds(120), TimeSpan.FromSeconds(300)));
            var dt = pr.GetValue(dtype) == "bfloat16" ? ScalarType.BFloat16 : ScalarType.Float32;
            var asJson = pr.GetValue(json);
            if (rank == 0 && !asJson)
                Console.WriteLine($"# all-reduce, {b}, {world} ranks, {pr.GetValue(dtype)}, in place, sum; busbw = algbw x 2(n-1)/n\n" +
                                  $"{"bytes",14} {"elements",12} {"time(us)",12} {"algbw(GB/s)",12} {"busbw(GB/s)",12}");
            var results = AllReduceBenchmark.Run(comm, minBytes, maxBytes, pr.GetValue(warmup), pr.GetValue(iters), dt, device,
                s => { if (rank == 0 && !asJson) Console.WriteLine($"{s.Bytes,14} {s.Elements,12} {s.TimeUs,12:F1} {s.AlgbwGbps,12:F2} {s.BusbwGbps,12:F2}"); });
            if (rank == 0 && asJson)
                JsonOutput.Write(new Result(b, world, pr.GetValue(dtype)!, "busbw = algbw * 2(n-1)/n; GB/s = 1e9 B/s", results));
            return CliAction.Ok;
        });
        return cmd;
    }

    // The parent: start P ranks of this same command; rank 0's stdout is the result, everything else is prefixed.
    static async Task<int> LaunchRanks(string backend, int p, CancellationToken ct)
    {
        var (file, prefix) = LocalLauncher.Self();
        var args = prefix.Concat(Environment.GetCommandLineArgs().Skip(1)).ToList();
        var result = await LocalLauncher.RunAsync(new LaunchSpec(file, args, p, backend), (rank, line, err) =>
        {
            if (rank == 0 && !err) Console.Out.WriteLine(line);
            else Console.Error.WriteLine($"[rank {rank}] {line}");
        }, ct);
        if (!result.Succeeded) Console.Error.WriteLine($"error: rank {result.FirstFailedRank} failed (exit {result.ExitCodes[result.FirstFailedRank]})");
        return result.Succeeded ? CliAction.Ok : CliAction.Failure;
    }
}
