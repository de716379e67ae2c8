using System.Globalization;
using Orchestrator.Worker.Model;

namespace Orchestrator.Worker.Checkpoints;

/// <summary>
/// A resume continues one run: the model and the optimisation settings are the checkpoint's. The risk is a user who
/// asks for another one (`--resume --set n_layer=2`) and silently gets the old run instead; so every setting the user
/// gave explicitly is compared with the checkpoint's, and any difference is refused before anything is built, naming
/// each one. What may change on resume is not compared: the horizon (`--steps`; the schedule spans the new one), the
/// world and its hardware (`--nproc`, `--zero`, `--device`, `--dtype`, `--backend`), checkpoint, log and eval cadence.
/// </summary>
public static class ResumeCheck
{
    /// <summary>Model settings, in the RunSpec's `model` vocabulary (`--set` keys).</summary>
    public static readonly IReadOnlyList<string> ModelKeys =
        ["n_layer", "n_head", "n_embd", "block_size", "vocab_size", "bias", "dropout", "parametrization", "base_width"];

    /// <summary>Run settings a checkpoint keeps, by their `orch train` flag.</summary>
    public static readonly IReadOnlyList<string> RunFlags =
        ["--batch", "--block-size", "--grad-accum", "--lr", "--min-lr", "--warmup-steps", "--seed", "--weight-decay",
         "--grad-clip", "--schedule", "--cooldown-fraction", "--cooldown-shape"];

    /// <summary>
    /// Throws <see cref="ArgumentException"/> when an explicitly asked model key (<paramref name="modelKeys"/>, of
    /// <paramref name="asked"/>) or run flag (<paramref name="runFlags"/>, of <paramref name="askedRun"/>) differs from
    /// the checkpoint's <paramref name="had"/>.
    /// </summary>
    public static void Require(TrainerState had, GptConfig asked, IEnumerable<string> modelKeys, RunSettings askedRun, IEnumerable<string> runFlags)
    {
        var was = new List<string>();
        var now = new List<string>();
        foreach (var key in ModelKeys.Intersect(modelKeys))
        {
            string a = Model(had.Model, key), b = Model(asked, key);
            if (a != b) { was.Add($"{key}={a}"); now.Add($"{key}={b}"); }
        }
        foreach (var flag in RunFlags.Intersect(runFlags))
        {
            string a = Run(had.Run, flag), b = Run(askedRun, flag);
            if (a != b) { was.Add($"{flag} {a}"); now.Add($"{flag} {b}"); }
        }
        if (was.Count > 0)
            throw new ArgumentException($"--resume: the checkpoint was trained with {string.Join(", ", was)}, this run asks {string.Join(", ", now)} " +
                "(start a new --out, or drop the change)");
    }

    static string Model(GptConfig c, string key) => key switch
    {
        "n_layer" => Num(c.NLayer),
        "n_head" => Num(c.NHead),
        "n_embd" => Num(c.NEmbd),
        "block_size" => Num(c.BlockSize),
        "vocab_size" => Num(c.VocabSize),
        "bias" => c.Bias ? "true" : "false",
        "dropout" => Num(c.Dropout),
        "parametrization" => c.Parametrization,
        "base_width" => Num(c.BaseWidth),
        _ => throw new ArgumentOutOfRangeException(nameof(key), key, "not a model key"),
    };

    static string Run(RunSettings r, string flag) => flag switch
    {
        "--batch" => Num(r.BatchSize),
        "--block-size" => Num(r.BlockSize),
        "--grad-accum" => Num(r.GradAccum),
        "--lr" => Num(r.LearningRate),
        "--min-lr" => Num(r.MinLearningRate),
        "--warmup-steps" => Num(r.WarmupSteps),
        "--seed" => Num(r.Seed),
        "--weight-decay" => Num(r.WeightDecay),
        "--grad-clip" => Num(r.GradClip),
        "--schedule" => r.Schedule ?? Orchestrator.Contracts.Runs.LrScheduleSpec.Cosine,
        "--cooldown-fraction" => Num(r.CooldownFraction ?? Orchestrator.Contracts.Runs.LrScheduleSpec.DefaultCooldownFraction),
        "--cooldown-shape" => r.CooldownShape ?? Orchestrator.Contracts.Runs.LrScheduleSpec.OneMinusSqrt,
        _ => throw new ArgumentOutOfRangeException(nameof(flag), flag, "not a run flag"),
    };

    static string Num(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
