using Orchestrator.Contracts.Runs;
using Orchestrator.DataPipeline.Loading;
using Orchestrator.Sharding.Optim;
using Orchestrator.Worker.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Worker.Training;

/// <summary>What `orch check mup` trains: the widths, the fixed depth and heads, and the short run at each width.</summary>
public sealed record CoordinateCheckOptions
{
    public IReadOnlyList<int> Widths { get; init; } = [64, 128, 256, 512, 1024];
    public int BaseWidth { get; init; } = 64;
    public int Layers { get; init; } = 2;
    /// <summary>Heads at every width (d_head grows with the width, so μP's 1/d_head attention scale is exercised).</summary>
    public int Heads { get; init; } = 4;
    public int Steps { get; init; } = 4;
    public double LearningRate { get; init; } = 1e-2;
    public int BatchSize { get; init; } = 8;
    public int BlockSize { get; init; } = 32;
    /// <summary>The vocabulary (random tokens) or the corpus's (then set from it).</summary>
    public int VocabSize { get; init; } = 256;
    public int Seed { get; init; } = 1;
    public string Device { get; init; } = "cpu";
    /// <summary>A prepared corpus; null: uniformly random tokens.</summary>
    public string? DataDir { get; init; }

    public const int MaxWidth = 8192, MaxWidths = 8, MaxSteps = 200;

    /// <summary>Throws <see cref="ArgumentException"/> naming the flag when the check cannot run as asked.</summary>
    public CoordinateCheckOptions Validate()
    {
        if (Widths.Count < 2 || Widths.Count > MaxWidths)
            throw new ArgumentException($"--widths: give 2 to {MaxWidths} widths (got {Widths.Count})");
        if (Widths.Distinct().Count() != Widths.Count || !Widths.SequenceEqual(Widths.Order()))
            throw new ArgumentException($"--widths {string.Join(",", Widths)}: list each width once, narrowest first");
        if (Widths.FirstOrDefault(w => w < 1 || w > MaxWidth) is int bad and not 0)
            throw new ArgumentException($"--widths: {bad} is outside 1..{MaxWidth}");
        if (Heads < 1 || Widths.FirstOrDefault(w => w % Heads != 0) is int odd and not 0)
            throw new ArgumentException($"--heads {Heads}: must divide every width ({string.Join(",", Widths.Where(w => Heads < 1 || w % Heads != 0))} is not a multiple)");
        if (Parametrizations.Problem(Parametrizations.Mup, BaseWidth, Widths[0], null) is { } problem)
            throw new ArgumentException(problem.Replace("base_width", "--base-width").Replace("n_embd", "the narrowest width").Replace("the model's width", "the narrowest width"));
        if (Layers is < 1 or > 48) throw new ArgumentException($"--layers {Layers}: must be 1..48");
        if (Steps is < 1 or > MaxSteps) throw new ArgumentException($"--steps {Steps}: must be 1..{MaxSteps}");
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate)) throw new ArgumentException($"--lr {LearningRate}: must be a positive number");
        if (BatchSize < 1 || BlockSize < 1) throw new ArgumentException($"--batch {BatchSize} and --block-size {BlockSize} must be at least 1");
        return this;
    }
}

/// <summary>
/// One layer at one width after the check's steps, on a fixed probe batch: <paramref name="Activation"/> is mean |x| of
/// the layer's output, <paramref name="Update"/> mean |x_t − x_0|, how far the steps moved it.
/// </summary>
public sealed record CoordinateRow(string Parametrization, int Width, string Layer, double Activation, double Update);

/// <summary>
/// The μP coordinate check (Yang et al. 2022, microsoft/mup's coord check): the same model at several widths,
/// trained a few steps with the real trainer (constant LR, no warmup, no clipping or decay, so nothing but the
/// parametrization differs between widths), under SP and under μP; per layer (the embedding, each block's output, the
/// logits) the size of its output and of its change on a fixed probe batch. Under μP both stay flat with width; under
/// SP they grow (Adam's updates move each coordinate by about the LR, so a layer's output moves by about LR x fan-in).
/// Deterministic for a seed on the CPU: the trainer draws the weights and the batches from it.
/// </summary>
public static class CoordinateCheck
{
    /// <param name="open">The batch source (the corpus's, or random tokens: <see cref="RandomTokens"/>).</param>
    /// <param name="progress">Called before each width's run.</param>
    public static IReadOnlyList<CoordinateRow> Run(CoordinateCheckOptions o, Func<LoaderOptions, IBatchSource> open, Action<string>? progress = null)
    {
        o.Validate();
        var rows = new List<CoordinateRow>();
        long[] probeInputs = new long[o.BatchSize * o.BlockSize], probeTargets = new long[o.BatchSize * o.BlockSize];
        using (var probe = open(new LoaderOptions(o.DataDir ?? "", "train", o.BatchSize, o.BlockSize, Seed: o.Seed + 7919)))
            probe.NextBatch(probeInputs, probeTargets);
        foreach (var parametrization in Parametrizations.Names)
        foreach (var width in o.Widths)
        {
            progress?.Invoke($"{parametrization} width {width}");
            var config = new GptConfig(NLayer: o.Layers, NHead: o.Heads, NEmbd: width, BlockSize: o.BlockSize, VocabSize: o.VocabSize,
                Parametrization: parametrization, BaseWidth: parametrization == Parametrizations.Mup ? o.BaseWidth : 0);
            var options = new TrainOptions
            {
                Steps = o.Steps, BatchSize = o.BatchSize, BlockSize = o.BlockSize, LearningRate = o.LearningRate,
                Schedule = LrScheduleSpec.Constant, WarmupSteps = 0, Adam = new AdamWSettings(WeightDecay: 0, GradClip: 0),
                Seed = o.Seed, Device = o.Device, Dtype = "fp32", LogEvery = o.Steps, EvalBatches = 0, DataDir = o.DataDir, CudaGraphs = "off",
            };
            using var trainer = new Trainer(config, options, open);
            using var idx = tensor(probeInputs, [o.BatchSize, o.BlockSize]).to(trainer.Device.Device);
            var before = Probe(trainer.Model, idx);
            trainer.Run();
            var after = Probe(trainer.Model, idx);
            for (var i = 0; i < before.Count; i++)
            {
                using var scope = NewDisposeScope();
                double activation = after[i].Output.abs().mean().item<float>();
                double update = (after[i].Output - before[i].Output).abs().mean().item<float>();
                rows.Add(new CoordinateRow(parametrization, width, before[i].Layer, activation, update));
            }
            foreach (var (_, t) in before.Concat(after)) t.Dispose();
        }
        return rows;
    }

    /// <summary>Uniformly random tokens of <paramref name="vocab"/> (the check without a corpus).</summary>
    public static Func<LoaderOptions, IBatchSource> RandomTokens(int vocab) =>
        o => new SyntheticBatchSource(o.BatchSize, o.BlockSize, vocab, o.Seed, o.Resume, o.Rank, o.WorldSize);

    /// <summary>The growth of one layer's value from the narrowest to the widest width (value at widest / at narrowest).</summary>
    public static double Growth(IReadOnlyList<CoordinateRow> rows, string parametrization, string layer, Func<CoordinateRow, double> value)
    {
        var mine = rows.Where(r => r.Parametrization == parametrization && r.Layer == layer).OrderBy(r => r.Width).ToList();
        if (mine.Count < 2) throw new ArgumentException($"no rows of layer '{layer}' under {parametrization} at two widths");
        return value(mine[^1]) / value(mine[0]);
    }

    // Each stage's output in eval mode without gradients: "embed", "h.N" (the residual stream after block N), "logits".
    static List<(string Layer, Tensor Output)> Probe(Gpt model, Tensor idx)
    {
        using var _ = no_grad();
        bool wasTraining = model.training;
        model.eval();
        var outputs = new List<(string, Tensor)>();
        using (var scope = NewDisposeScope())
        {
            var x = model.Embed(idx);
            outputs.Add(("embed", x.detach().clone().MoveToOuterDisposeScope()));
            for (var i = 0; i < model.Blocks.Count; i++)
            {
                x = model.Blocks[i].call(x);
                outputs.Add(($"h.{i}", x.detach().clone().MoveToOuterDisposeScope()));
            }
            outputs.Add(("logits", model.Head(x).detach().MoveToOuterDisposeScope()));
        }
        if (wasTraining) model.train();
        return outputs;
    }
}
