using System.CommandLine;
using Orchestrator.Cli.Hosting;
using Orchestrator.Contracts.Limits;
using Orchestrator.Contracts.Runs;
using Orchestrator.Sharding.Launch;
using Orchestrator.Worker.Checkpoints;
using Orchestrator.DataPipeline.Loading;
using Orchestrator.Worker.Model;
using Orchestrator.Sharding.Optim;
using Orchestrator.Worker.Training;
using Orchestrator.Worker.Training.Distributed;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// `orch train`: one process, one device, or P local ranks with --nproc (docs/CLI.md). Invariant: everything that can
/// fail is checked before the first step, and a flag that asks a resumed run for other settings is refused.
/// </summary>
public static class TrainCommands
{
    // eval, sample and export read a checkpoint (CheckpointCommands): `orch --help` lists them after train.
    public static IEnumerable<Command> Create() => [Train(), .. CheckpointCommands.Create()];

    public sealed record TrainJson(
        long Steps, double? Loss, double? ValLoss, double TokensPerSecond, double? Mfu, int WorldSize,
        string? Checkpoint, string? ResumedFrom, long Parameters, long NonEmbeddingParameters, string Device, double? ModelStateMib,
        double CheckpointBlockedMs, int CheckpointWrites, double? CheckpointLoadMs, bool Stopped,
        double CheckpointWriteMs, double CheckpointFinalWaitMs, IReadOnlyList<CheckpointTiming> Checkpoints);

    static Command Train()
    {
        var data = new Option<string>("--data") { Description = "Prepared corpus folder (orch data prepare)", Required = true };
        var outDir = new Option<string>("--out") { Description = "Run folder for checkpoints", Required = true };
        var model = new Option<string>("--model") { Description = $"Preset: {string.Join(", ", GptPresets.Names)}", DefaultValueFactory = _ => "micro" };
        var set = new Option<string?>("--set") { Description = "Model overrides: n_layer=..,n_head=..,n_embd=..,block_size=..,vocab_size=..,bias=..,dropout=.." };
        var parametrization = new Option<string>("--parametrization") { Description = "sp (GPT-2's standard parametrization) or mup (μP: learning rates tuned at --base-width transfer to wider models)", DefaultValueFactory = _ => Parametrizations.Standard };
        parametrization.AcceptOnlyFromAmong(Parametrizations.Names);
        var baseWidth = new Option<int?>("--base-width") { Description = "mup: the width (n_embd) whose hyperparameters transfer; at most the model's n_embd" };
        var steps = new Option<int>("--steps") { Description = "Run horizon in optimizer steps (the LR schedule spans it)", DefaultValueFactory = _ => 1000 };
        var batch = new Option<int>("--batch") { Description = "Micro-batch in sequences per rank", DefaultValueFactory = _ => 12 };
        var block = new Option<int?>("--block-size") { Description = "Tokens per sequence trained on (default: the smaller of the model's block_size and the corpus' block size)" };
        var accum = new Option<int>("--grad-accum") { Description = "Micro-batches per optimizer step", DefaultValueFactory = _ => 1 };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate", DefaultValueFactory = _ => 6e-4 };
        var minLr = new Option<double?>("--min-lr") { Description = "The LR floor (default lr/10 for cosine, 0 for wsd)" };
        var schedule = new Option<string>("--schedule") { Description = "LR schedule after warmup: cosine, wsd (warmup-stable-decay) or constant", DefaultValueFactory = _ => LrScheduleSpec.Cosine };
        schedule.AcceptOnlyFromAmong(LrScheduleSpec.Kinds);
        var cooldownFraction = new Option<double>("--cooldown-fraction") { Description = "wsd: share of the steps spent in the cooldown, in (0, 1)", DefaultValueFactory = _ => LrScheduleSpec.DefaultCooldownFraction };
        var cooldownShape = new Option<string>("--cooldown-shape") { Description = "wsd: cooldown shape: linear, 1-sqrt or cosine", DefaultValueFactory = _ => LrScheduleSpec.OneMinusSqrt };
        cooldownShape.AcceptOnlyFromAmong(LrScheduleSpec.Shapes);
        var checkpointAt = new Option<string?>("--checkpoint-at") { Description = "Also checkpoint at these steps (comma separated), never pruned: fork points" };
        var initFrom = new Option<string?>("--init-from") { Description = "Start from another run's checkpoint folder (or run folder) with this run's schedule: a fork" };
        var forkStep = new Option<int?>("--fork-step") { Description = "The step of --init-from's checkpoint to fork at (a run folder's ckpt of that step)" };
        var warmup = new Option<int?>("--warmup-steps") { Description = "Warm-up steps (default min(2000, steps/10))" };
        var wd = new Option<double>("--weight-decay") { Description = "AdamW weight decay", DefaultValueFactory = _ => 0.1 };
        var clip = new Option<double>("--grad-clip") { Description = "Clip the global gradient norm to this (0: off)", DefaultValueFactory = _ => 1.0 };
        var seed = new Option<int>("--seed") { Description = "Seed of the model's initialisation, dropout and data order", DefaultValueFactory = _ => 1337 };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
        var dtype = new Option<string>("--dtype") { Description = "auto (bf16 compute + fp32 masters on CUDA, fp32 on CPU), fp32 or bf16", DefaultValueFactory = _ => "auto" };
        dtype.AcceptOnlyFromAmong("auto", "fp32", "bf16");
        var nproc = new Option<int>("--nproc") { Description = "Local ranks (like torchrun --standalone): the world size", DefaultValueFactory = _ => 1 };
        var allRanks = new Option<bool>("--all-ranks") { Description = "With --nproc N: print every rank's progress, each line prefixed [rank R] (default: rank 0 speaks for the run; other ranks' warnings and errors still show, prefixed)" };
        var backend = new Option<string>("--backend") { Description = "Collectives between --nproc ranks: ring (TCP, CPU or GPU) or nccl (GPUs)", DefaultValueFactory = _ => "ring" };
        backend.AcceptOnlyFromAmong("ring", "nccl");
        var zero = new Option<int>("--zero") { Description = "ZeRO stage 0..3 with --nproc N: 0 replicates everything (DDP), 1 shards optimizer states, 2 also gradients, 3 also parameters", DefaultValueFactory = _ => 0 };
        var ckptEvery = new Option<int>("--checkpoint-every") { Description = "Checkpoint every N steps (0: only at the end and by --checkpoint-minutes)", DefaultValueFactory = _ => 0 };
        var ckptMinutes = new Option<double>("--checkpoint-minutes") { Description = "Also checkpoint after this many minutes of training since the last one, so a crash loses at most that (0: off)", DefaultValueFactory = _ => 10 };
        var keep = new Option<int>("--keep") { Description = "Checkpoints to keep", DefaultValueFactory = _ => 3 };
        var stopAfter = new Option<int?>("--stop-after") { Description = "End this invocation after N steps, with a checkpoint" };
        var resume = new Option<bool>("--resume") { Description = "Continue from the newest valid checkpoint in --out, with its model and run settings (a flag asking for other values is refused; --steps may change)" };
        var noCheckpoint = new Option<bool>("--no-checkpoint") { Description = "Write no checkpoints, not even at the end (benchmarks; models whose optimizer state is too large to gather)" };
        var evalEvery = new Option<int>("--eval-every") { Description = "Validation every N steps (0: only at the end)", DefaultValueFactory = _ => 0 };
        var evalBatches = new Option<int>("--eval-batches") { Description = "Validation batches averaged at each evaluation (0: no validation)", DefaultValueFactory = _ => 20 };
        var logEvery = new Option<int>("--log-every") { Description = "Log (and host-sync) every N steps", DefaultValueFactory = _ => 10 };
        var json = new Option<bool>("--json") { Description = "Print one JSON document at the end" };
        var tensorboard = new Option<bool>("--tensorboard") { Description = "Also write TensorBoard scalars under --out/tensorboard (metrics.jsonl is always written)" };
        var graphs = new Option<string>("--cuda-graphs") { Description = "Capture the training step in a CUDA graph after warm-up: on, off, or auto (on where it applies: one CUDA process)", DefaultValueFactory = _ => "auto" };
        graphs.AcceptOnlyFromAmong("auto", "on", "off");
        var cmd = new Command("train", "Train a GPT model on a prepared corpus")
        {
            data, outDir, model, set, parametrization, baseWidth, steps, batch, block, accum, lr, minLr, warmup, schedule, cooldownFraction, cooldownShape, wd, clip, seed,
            device, dtype, nproc, allRanks, backend, zero, ckptEvery, ckptMinutes, keep, checkpointAt, stopAfter, resume, noCheckpoint, initFrom, forkStep,
            evalEvery, evalBatches, logEvery, json, graphs, tensorboard,
        };
        GracefulStop.Mark(cmd);
        CliAction.Set(cmd, async (pr, ct) =>
        {
            // --nproc/--backend/--zero: the user's process launches the ranks; each rank joins the world here.
            if (pr.GetValue(nproc) > ResourceLimits.MaxLocalRanks)
                throw new ArgumentException($"--nproc {pr.GetValue(nproc)}: at most {ResourceLimits.MaxLocalRanks} ranks on this host (its {Environment.ProcessorCount} cores, at least 8)");
            using var ranks = RankSession.Open(pr.GetValue(nproc), pr.GetValue(backend)!, pr.GetValue(zero), pr.GetValue(device)!);
            if (ranks.MustLaunch)
            {
                // A signal is forwarded to the ranks (SIGTERM), which agree on a step, checkpoint and end; a second one kills them.
                using var abort = CancellationTokenSource.CreateLinkedTokenSource(ct);
                using var launcherStop = new GracefulStop(
                    s => Console.Error.WriteLine($"{s}: asking the ranks to stop after the current step with a checkpoint (signal again to kill them)"),
                    () => abort.Cancel());
                return await RankSession.LaunchAsync(pr.GetValue(nproc), pr.GetValue(backend)!, pr.GetValue(allRanks), abort.Token, launcherStop.Token);
            }
            var inRank = RankEnvironment.Current is not null;
            if (ranks.Rank != 0) Console.SetOut(TextWriter.Null); // rank 0 speaks for the run
            bool progress = ranks.Rank == 0 || pr.GetValue(allRanks); // other ranks print warnings and errors only
            using var stop = new GracefulStop(
                s => { if (progress) Console.Error.WriteLine($"{s}: stopping after the current step with a checkpoint" + (inRank ? "" : " (signal again to stop at once, without one)")); },
                inRank ? null : () => { Console.Error.WriteLine("stopping now, without a checkpoint"); Environment.Exit(130); });
            var dataDir = pr.GetValue(data)!;
            if (pr.GetValue(noCheckpoint) && pr.GetValue(resume))
                throw new ArgumentException("--resume reads checkpoints and --no-checkpoint writes none: pass one of them");
            if (pr.GetValue(noCheckpoint) && pr.GetValue(tensorboard))
                throw new ArgumentException("--no-checkpoint writes nothing to --out, TensorBoard scalars included: drop --tensorboard, or --no-checkpoint");
            if (pr.GetValue(noCheckpoint) && (pr.GetValue(ckptEvery) > 0 || pr.GetValue(stopAfter) is not null))
                throw new ArgumentException("--no-checkpoint writes no checkpoints: drop --checkpoint-every / --stop-after, or checkpoints");
            int? corpusBlock = CorpusSources.BlockSize(dataDir);
            int vocab = CorpusSources.VocabSize(dataDir);
            var config = GptPresets.Get(pr.GetValue(model)!) with { VocabSize = vocab };
            config = GptPresets.ApplyOverrides(config, pr.GetValue(set));
            if (Parametrizations.Problem(pr.GetValue(parametrization)!, pr.GetValue(baseWidth) ?? 0, config.NEmbd, null) is { } mupProblem)
                throw new ArgumentException(mupProblem.Replace("base_width", "--base-width").Replace("parametrization mup", "--parametrization mup"));
            config = (config with { Parametrization = pr.GetValue(parametrization)!, BaseWidth = pr.GetValue(baseWidth) ?? 0 }).Validate();
            int t = pr.GetValue(block) ?? Math.Min(config.BlockSize, corpusBlock ?? config.BlockSize);
            if (corpusBlock is int cb && t > cb)
                throw new ArgumentException($"--block-size {t} is larger than the corpus' block size {cb}; use --block-size {cb} or less, or prepare the corpus with orch data prepare --block-size {t}");
            var options = new TrainOptions
            {
                Steps = pr.GetValue(steps), BatchSize = pr.GetValue(batch), BlockSize = t, GradAccum = pr.GetValue(accum),
                LearningRate = pr.GetValue(lr), MinLearningRate = pr.GetValue(minLr), WarmupSteps = pr.GetValue(warmup),
                Adam = new AdamWSettings(WeightDecay: pr.GetValue(wd), GradClip: pr.GetValue(clip)), Seed = pr.GetValue(seed),
                Device = pr.GetValue(device)!, Dtype = pr.GetValue(dtype)!, CheckpointEvery = pr.GetValue(ckptEvery),
                CheckpointMinutes = pr.GetValue(noCheckpoint) ? 0 : pr.GetValue(ckptMinutes), KeepCheckpoints = pr.GetValue(keep),
                StopAfter = pr.GetValue(stopAfter), Resume = pr.GetValue(resume), EvalEvery = pr.GetValue(evalEvery),
                EvalBatches = pr.GetValue(evalBatches), LogEvery = pr.GetValue(logEvery), CudaGraphs = pr.GetValue(graphs)!, OutDir = pr.GetValue(noCheckpoint) ? null : pr.GetValue(outDir), DataDir = dataDir,
                Schedule = pr.GetValue(schedule)!, CooldownFraction = pr.GetValue(cooldownFraction), CooldownShape = pr.GetValue(cooldownShape)!,
                CheckpointAt = Steps("--checkpoint-at", pr.GetValue(checkpointAt)), InitFrom = pr.GetValue(initFrom), ForkStep = pr.GetValue(forkStep),
                TensorBoard = pr.GetValue(tensorboard),
            };
            // Everything that can fail is checked before the first step: the settings, the corpus' splits and shards,
            // the output folder (created last, so a refused command leaves nothing behind).
            options.Validate();
            CorpusSources.RequireBlocks(dataDir, "train", t, "training needs them");
            if (pr.GetValue(evalBatches) > 0)
                CorpusSources.RequireBlocks(dataDir, "val", t, "evaluation needs them: prepare it with --val-fraction above 0 (and enough text), or pass --eval-batches 0");
            if (ranks.Rank == 0) CorpusSources.VerifyChecksums(dataDir);
            if (!pr.GetValue(noCheckpoint) && ranks.Rank == 0) WritableFolder.Require(pr.GetValue(outDir)!, "--out");
            var asJson = pr.GetValue(json);
            options = ranks.Apply(options);
            var explicitModel = ExplicitModelKeys(pr, model, set, parametrization, baseWidth);
            var explicitRun = new (Option Option, string Flag)[] { (batch, "--batch"), (block, "--block-size"), (accum, "--grad-accum"), (lr, "--lr"), (minLr, "--min-lr"),
                (warmup, "--warmup-steps"), (seed, "--seed"), (wd, "--weight-decay"), (clip, "--grad-clip"), (schedule, "--schedule"),
                (cooldownFraction, "--cooldown-fraction"), (cooldownShape, "--cooldown-shape") }.Where(x => Given(pr, x.Option)).Select(x => x.Flag).ToList();
            var asked = options;
            using var trainer = new Trainer(config, options, CorpusSources.Open, w => Console.Error.WriteLine("warning: " + w), ranks.Communicator,
                checkResume: state => ResumeCheck.Require(state, config, explicitModel, Trainer.RunSettingsOf(asked), explicitRun));
            var c = trainer.Config;
            var o = trainer.Options;
            if (progress) Console.Error.WriteLine(
                $"model: {c.NLayer} layers, {c.NHead} heads, {c.NEmbd} wide{(c.Mup ? $" (μP, base width {c.BaseWidth})" : "")}, vocab {c.VocabSize} (padded {c.PaddedVocabSize}); " +
                $"{c.ParameterCount / 1e6:F2}M parameters ({c.NonEmbeddingParameterCount / 1e6:F2}M non-embedding); device {trainer.Device.Name}, " +
                $"batch {o.BatchSize} x block_size {o.BlockSize} x grad_accum {o.GradAccum}" + (o.WorldSize > 1 ? $" x {o.WorldSize} ranks" : "") +
                $" = {(long)o.BatchSize * o.BlockSize * o.GradAccum * o.WorldSize:N0} tokens/step (global)" +
                (trainer.ResumedFrom is null ? "" : $"; resumed from {trainer.ResumedFrom} at step {trainer.StartStep}"));
            var bar = new ProgressLine(o.WorldSize);
            var result = trainer.Run(progress ? bar.Report : _ => { }, default, stopRequested: () => stop.Requested);
            bar.Finish();
            if (asJson)
                JsonOutput.Write(new TrainJson(result.Steps, result.FinalTrainLoss, result.FinalValLoss, result.TokensPerSecond, result.Mfu,
                    result.WorldSize, result.Checkpoint, trainer.ResumedFrom, c.ParameterCount, c.NonEmbeddingParameterCount, trainer.Device.Name,
                    result.ModelStateBytes / (1024.0 * 1024.0), result.CheckpointBlockedMs, result.CheckpointWrites, trainer.CheckpointLoadMs, result.Stopped,
                    result.CheckpointWriteMs, result.CheckpointFinalWaitMs, result.Checkpoints));
            else
                Console.WriteLine($"step {result.Steps}: train loss {Fmt(result.FinalTrainLoss)}, val loss {Fmt(result.FinalValLoss)}, " +
                    $"{result.TokensPerSecond:N0} tokens/s (global){(result.Mfu is double m ? $", MFU {m:P1}" : "")}; checkpoint {result.Checkpoint}");
            if (!result.Stopped) return CliAction.Ok;
            if (progress) Console.Error.WriteLine(result.Checkpoint is null
                ? $"stopped by {stop.Signal} at step {result.Steps} (--no-checkpoint: nothing saved)"
                : $"stopped by {stop.Signal} at step {result.Steps}; checkpoint {result.Checkpoint}; continue with the same command and --resume");
            return stop.Signal == "SIGINT" ? 130 : 143;
        });
        return cmd;
    }

    /// <summary>True when the user gave <paramref name="option"/> (not its default).</summary>
    static bool Given(ParseResult pr, Option option) => pr.GetResult(option) is { Implicit: false };

    /// <summary>The model settings the user asked for explicitly: a preset's shape, --set keys, the parametrization.</summary>
    static List<string> ExplicitModelKeys(ParseResult pr, Option<string> model, Option<string?> set, Option<string> parametrization, Option<int?> baseWidth)
    {
        var keys = new List<string>();
        if (Given(pr, model)) keys.AddRange(["n_layer", "n_head", "n_embd", "block_size", "bias", "dropout"]);
        if (pr.GetValue(set) is string overrides)
            keys.AddRange(overrides.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(kv => kv.Split('=', 2)[0].Trim().ToLowerInvariant()));
        if (Given(pr, parametrization)) keys.Add("parametrization");
        if (Given(pr, baseWidth)) keys.Add("base_width");
        return keys;
    }

    static string Fmt(double? v) => v is double d ? d.ToString("F4") : "n/a";

    static int[] Steps(string flag, string? list) => list is null ? [] : list
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(x => int.TryParse(x, out var v) ? v : throw new ArgumentException($"{flag}: '{x}' is not a step number")).ToArray();
}
