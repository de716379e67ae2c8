using System.CommandLine;
using System.Diagnostics;
using Orchestrator.Cli.Hosting;
using Orchestrator.DataPipeline.Loading;
using Orchestrator.Worker.Model;
using Orchestrator.Worker.Training;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// `orch bench train`: training throughput on synthetic tokens (nanoGPT bench.py's setting): warm-up steps, then a
/// timed stretch ended by one host sync. Prints tokens/s, ms/step, MFU against the device's bf16 peak, and the GPU
/// memory in use (nvidia-smi) on CUDA.
/// </summary>
public static class BenchTrainCommand
{
    public sealed record Result(
        string Model, long Parameters, long NonEmbeddingParameters, int Batch, int BlockSize, int GradAccum, string Device,
        string Dtype, int Steps, int WarmupSteps, double TokensPerSecond, double MsPerStep, double? Mfu, double? PeakTflops,
        double Loss, long? GpuMemoryUsedMb, double GradClip, IReadOnlyList<PhaseTime>? Phases, bool CudaGraphs);

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = $"Preset: {string.Join(", ", GptPresets.Names)}", DefaultValueFactory = _ => "gpt2" };
        var set = new Option<string?>("--set") { Description = "Model overrides: n_layer=..,n_head=..,n_embd=..,block_size=..,vocab_size=.." };
        var batch = new Option<int>("--batch") { Description = "Sequences per step (per rank)", DefaultValueFactory = _ => 12 };
        var block = new Option<int>("--block-size") { Description = "Tokens per sequence", DefaultValueFactory = _ => 1024 };
        var accum = new Option<int>("--grad-accum") { Description = "Micro-batches per optimizer step", DefaultValueFactory = _ => 1 };
        var steps = new Option<int>("--steps") { Description = "Timed steps", DefaultValueFactory = _ => 50 };
        var warmup = new Option<int>("--warmup-steps") { Description = "Untimed steps first", DefaultValueFactory = _ => 5 };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
        var dtype = new Option<string>("--dtype") { Description = "auto (bf16 compute + fp32 masters on CUDA, fp32 on CPU), fp32 or bf16", DefaultValueFactory = _ => "auto" };
        dtype.AcceptOnlyFromAmong("auto", "fp32", "bf16");
        var clip = new Option<double>("--grad-clip") { Description = "Global-norm clip (0: off, as nanoGPT's bench.py)", DefaultValueFactory = _ => 1.0 };
        var profile = new Option<bool>("--profile") { Description = "Per-phase GPU and host time of the timed steps (CUDA events; no nsys needed)" };
        var json = new Option<bool>("--json") { Description = "Print one JSON document" };
        var graphs = new Option<string>("--cuda-graphs") { Description = "Capture the step in a CUDA graph: on, off, or auto (on where it applies; --profile times phases eagerly)", DefaultValueFactory = _ => "auto" };
        graphs.AcceptOnlyFromAmong("auto", "on", "off");
        var cmd = new Command("train", "Training throughput (tokens/s, ms/step, MFU) on synthetic tokens")
        {
            model, set, batch, block, accum, steps, warmup, device, dtype, clip, profile, json, graphs,
        };
        CliAction.Set(cmd, (pr, ct) =>
        {
            var config = GptPresets.ApplyOverrides(GptPresets.Get(pr.GetValue(model)!), pr.GetValue(set));
            int b = pr.GetValue(batch), t = pr.GetValue(block), n = pr.GetValue(steps), w = pr.GetValue(warmup);
            if (t > config.BlockSize) config = config with { BlockSize = t };
            if (n < 1) throw new ArgumentException("--steps must be at least 1");
            if (w < 0) throw new ArgumentException("--warmup-steps must be 0 or more");
            if (pr.GetValue(clip) < 0) throw new ArgumentException($"--grad-clip {pr.GetValue(clip)}: must be 0 (off) or positive");
            var options = new TrainOptions
            {
                Steps = w + n, BatchSize = b, BlockSize = t, GradAccum = pr.GetValue(accum), Device = pr.GetValue(device)!, Dtype = pr.GetValue(dtype)!,
                LogEvery = w + n + 1, EvalBatches = 0, WarmupSteps = 0, CudaGraphs = pr.GetValue(graphs)!,
            };
            options = options with { Adam = options.Adam with { GradClip = pr.GetValue(clip) } };
            using var trainer = new Trainer(config, options, lo => new SyntheticBatchSource(lo.BatchSize, lo.BlockSize, config.VocabSize, lo.Seed));
            Console.Error.WriteLine($"bench train: {pr.GetValue(model)} ({config.ParameterCount / 1e6:F1}M parameters), batch {b}, block {t}, " +
                $"{trainer.Device.Name} {trainer.Device.ComputeDtype}; {w} warm-up + {n} timed steps");
            if (w > 0) trainer.Run(stopAt: w, ct: ct);
            using var phases = pr.GetValue(profile) ? new PhaseProfiler(trainer.Device.IsCuda) : null;
            var r = trainer.Run(stopAt: w + n, ct: ct, phases: phases);
            double tps = r.TokensPerSecond;
            double ms = 1000.0 * options.BatchSize * options.BlockSize * options.GradAccum / tps;
            var result = new Result(pr.GetValue(model)!, config.ParameterCount, config.NonEmbeddingParameterCount, b, t, options.GradAccum,
                trainer.Device.Name, trainer.Device.ComputeDtype.ToString(), n, w, tps, ms, r.Mfu, trainer.Device.PeakFlops / 1e12,
                r.FinalTrainLoss ?? double.NaN, trainer.Device.IsCuda ? GpuMemoryUsedMb() : null, options.Adam.GradClip, phases?.Summarize(), trainer.CudaGraphsUsed);
            if (pr.GetValue(json)) JsonOutput.Write(result);
            else Console.WriteLine($"{tps:N0} tokens/s, {ms:F2} ms/step" + (result.CudaGraphs ? " (CUDA graph)" : "") + (r.Mfu is double m ? $", MFU {m:P1} of {result.PeakTflops:F0} TFLOP/s" : "") +
                (result.GpuMemoryUsedMb is long mb ? $", GPU memory in use {mb:N0} MiB" : ""));
            if (result.Phases is { } ps && !pr.GetValue(json))
                foreach (var p in ps) Console.WriteLine($"  {p.Phase,-44} GPU {p.GpuMs,8:F2} ms   host {p.HostMs,8:F2} ms");
            return Task.FromResult(CliAction.Ok);
        });
        return cmd;
    }

    // TorchSharp exposes no torch.cuda.max_memory_allocated; the caching allocator keeps its peak reservation, so
    // nvidia-smi's memory.used for this process' GPU after the run is the peak reserved memory (an upper bound).
    static long? GpuMemoryUsedMb()
    {
        try
        {
            var psi = new ProcessStartInfo("nvidia-smi", "--query-compute-apps=pid,used_memory --format=csv,noheader,nounits")
            { RedirectStandardOutput = true, UseShellExecute = false };
            using var p = Process.Start(psi)!;
            var text = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            var me = Environment.ProcessId.ToString();
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var parts = line.Split(',', StringSplitOptions.TrimEntries);
                if (parts.Length == 2 && parts[0] == me && long.TryParse(parts[1], out var mb)) return mb;
            }
        }
        catch (System.ComponentModel.Win32Exception) { }
        return null;
    }
}
