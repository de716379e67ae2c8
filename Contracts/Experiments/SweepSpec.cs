using System.Collections.Immutable;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Contracts.Experiments;

/// <summary>
/// A validated scaling-law sweep (parsed from YAML by Orchestrator.Experiments.Specs.SweepSpecYaml). Either Tokens
/// (a grid: every model × every token budget) or FlopBudgets (IsoFLOP profiles: every model at D = C / 6N) or both.
/// Ids are never renumbered.
/// </summary>
[GenerateSerializer, Immutable, Alias("orch.SweepSpec")]
public sealed record SweepSpec
{
    [Id(0)] public string Name { get; init; } = "";
    /// <summary>Prepared corpus (`orch data prepare` output).</summary>
    [Id(1)] public string Data { get; init; } = "";
    /// <summary>Shared storage root: the sweep writes everything under Storage/&lt;sweep id&gt;/.</summary>
    [Id(2)] public string Storage { get; init; } = "";
    /// <summary>Model shapes, in order; targets given as parameter counts are already turned into shapes.</summary>
    [Id(3)] public ImmutableArray<ModelShape> Models { get; init; } = [];
    /// <summary>Token budgets D for the grid.</summary>
    [Id(4)] public ImmutableArray<long> Tokens { get; init; } = [];
    /// <summary>FLOP budgets C for IsoFLOP profiles (C = 6·N·D).</summary>
    [Id(5)] public ImmutableArray<double> FlopBudgets { get; init; } = [];
    [Id(6)] public ImmutableArray<int> Seeds { get; init; } = [1];
    [Id(7)] public int Batch { get; init; } = 16;
    [Id(8)] public double Lr { get; init; } = 1e-3;
    /// <summary>Optional per-size learning rate: lr·(N / LrReferenceParams)^LrExponent; null to keep Lr for all.</summary>
    [Id(9)] public double? LrReferenceParams { get; init; }
    [Id(10)] public double LrExponent { get; init; }
    [Id(11)] public int WarmupSteps { get; init; }
    [Id(12)] public int WorkersPerRun { get; init; } = 1;
    /// <summary>Runs in flight at once.</summary>
    [Id(13)] public int Concurrency { get; init; } = 1;
    /// <summary>How many times a failed run is resubmitted before the sweep gives up on it.</summary>
    [Id(14)] public int Retries { get; init; } = 2;
    [Id(15)] public string Device { get; init; } = "cpu";
    [Id(16)] public string Backend { get; init; } = "ring";
    /// <summary>gpt, or light (the coordinator's control-plane test job).</summary>
    [Id(17)] public string Trainer { get; init; } = "gpt";
    [Id(18)] public int CheckpointEvery { get; init; } = 100;
    [Id(19)] public int EvalEvery { get; init; }
    /// <summary>Passed to every run's RunSpec.Options (e.g. the light trainer's knobs).</summary>
    [Id(20)] public ImmutableDictionary<string, string> Options { get; init; } = ImmutableDictionary<string, string>.Empty;
    /// <summary>FLOP budgets the report gives the compute-optimal N*, D* for (empty: derived from the data).</summary>
    [Id(21)] public ImmutableArray<double> ReportBudgets { get; init; } = [];
    /// <summary>Context length of every model of the sweep (tokens per sequence).</summary>
    [Id(22)] public int BlockSize { get; init; } = 128;
    /// <summary>Every run's RunSpec.DeviceShare: the fraction of one device a rank claims (null: none, memory alone packs).</summary>
    [Id(23)] public double? DeviceShare { get; init; }
    /// <summary>on, off or auto: every run's CUDA-graph setting (RunSpec.CudaGraphs).</summary>
    [Id(24)] public string CudaGraphs { get; init; } = "auto";
    /// <summary>Every run's LR schedule: cosine, wsd or constant (<see cref="LrScheduleSpec"/>).</summary>
    [Id(25)] public string Schedule { get; init; } = LrScheduleSpec.Cosine;
    /// <summary>The LR floor; null: lr/10 for cosine, 0 for wsd.</summary>
    [Id(26)] public double? MinLr { get; init; }
    [Id(27)] public double CooldownFraction { get; init; } = LrScheduleSpec.DefaultCooldownFraction;
    [Id(28)] public string CooldownShape { get; init; } = LrScheduleSpec.OneMinusSqrt;
    /// <summary>
    /// WSD cooldown branches (resolved: true only with schedule wsd): per model and seed one trunk at the stable LR,
    /// and per budget one branch that forks from it at the budget's cooldown start (Experiments/Planning/BranchPlanner).
    /// </summary>
    [Id(29)] public bool Branching { get; init; }
    /// <summary>Runs held out of the report's fit and predicted by it: "largest" (the largest-compute runs) or comma-separated run keys; null for none.</summary>
    [Id(30)] public string? Holdout { get; init; }
    /// <summary>Refuse plans in which a run trains more than this many epochs of the corpus's unique training tokens; null for no limit.</summary>
    [Id(31)] public double? MaxEpochs { get; init; }
    /// <summary>The corpus's unique training tokens (its manifest's train_tokens), read when the spec is loaded; null when unknown.</summary>
    [Id(32)] public long? CorpusTrainTokens { get; init; }
    /// <summary>A hyperparameter search run before (lr: auto) or beside the scaling runs; null: none.</summary>
    [Id(33)] public SearchSpec? Search { get; init; }
    /// <summary>lr: auto: the scaling runs take LR*(N) from the power law fitted to the search's best trials.</summary>
    [Id(34)] public bool LrAuto { get; init; }
}
