namespace Orchestrator.Experiments.Specs;

// The sweep YAML exactly as written (snake_case keys, every field optional so missing ones get a clear error or a
// default). Unknown keys are rejected by the deserializer; SweepSpecYaml turns this into a validated SweepSpec.
// Example:
//   name: brown-small
//   data: .data/brown
//   storage: .data/sweeps
//   params: [1e5, 3e5, 1e6]          # target non-embedding parameter counts -> shapes
//   models: [{ n_layer: 2, n_head: 2, n_embd: 64 }]   # and/or explicit shapes
//   tokens: [2e6, 8e6]               # grid: every model x every token budget
//   flop_budgets: [1e13, 3e13]       # IsoFLOP: every model at D = C / 6N
//   seeds: [1]
//   batch: 16
//   block_size: 128
//   lr: 1e-3
//   lr_rule: { reference_params: 1e6, exponent: -0.25 }   # lr x (N / ref)^exponent
//   workers: 1
//   concurrency: 2
//   retries: 2
//   checkpoint: { every: 100 }       # each run checkpoints every 100 steps
//   schedule: wsd                    # cosine | wsd | constant
//   cooldown_fraction: 0.2           # wsd: the last 20% of each run cools down
//   branching: true                  # wsd's default: one trunk per model, a cooldown branch per budget
//   holdout: largest                 # or [KEY, ...]: fit without these runs and predict them
//   max_epochs: 1                    # refuse runs that repeat the corpus's training tokens
//   search: { lr: { min: 1e-4, max: 1e-2, points: 5 } }   # see Search/SearchYaml.cs; lr: auto uses its fit
//   parametrization: mup             # sp (default) | mup: every model in μP with
//   base_width: 64                   #   this base width (at most the narrowest model's n_embd)

sealed class SweepYamlDocument
{
    public string? Name { get; set; }
    public string? Data { get; set; }
    public string? Storage { get; set; }
    public List<ModelYaml>? Models { get; set; }
    public List<double>? Params { get; set; }
    public List<double>? Tokens { get; set; }
    public List<double>? FlopBudgets { get; set; }
    public List<int>? Seeds { get; set; }
    public int? Batch { get; set; }
    public int? BlockSize { get; set; }
    /// <summary>A number, or auto (the rule fitted to the search's best trials).</summary>
    public string? Lr { get; set; }
    public LrRuleYaml? LrRule { get; set; }
    public int? WarmupSteps { get; set; }
    public int? Workers { get; set; }
    public int? Concurrency { get; set; }
    public double? DeviceShare { get; set; }
    public int? Retries { get; set; }
    public string? Device { get; set; }
    public string? Backend { get; set; }
    public string? Trainer { get; set; }
    /// <summary>{ every: N }: every run checkpoints each N steps (RunSpec checkpoint.every; orch train --checkpoint-every).</summary>
    public SweepCheckpointYaml? Checkpoint { get; set; }
    public int? EvalEvery { get; set; }
    public Dictionary<string, string>? Options { get; set; }
    public List<double>? ReportBudgets { get; set; }
    public string? CudaGraphs { get; set; }
    public string? Schedule { get; set; }
    public double? MinLr { get; set; }
    public double? CooldownFraction { get; set; }
    public string? CooldownShape { get; set; }
    public bool? Branching { get; set; }
    /// <summary>"largest" or a list of run keys.</summary>
    public object? Holdout { get; set; }
    public double? MaxEpochs { get; set; }
    public Search.SearchYaml? Search { get; set; }
    public string? Parametrization { get; set; }
    public int? BaseWidth { get; set; }
}

sealed class ModelYaml
{
    public int? NLayer { get; set; }
    public int? NHead { get; set; }
    public int? NEmbd { get; set; }
    /// <summary>A target non-embedding parameter count instead of n_layer/n_head/n_embd.</summary>
    public double? Params { get; set; }
}

sealed class SweepCheckpointYaml
{
    public int? Every { get; set; }
}

sealed class LrRuleYaml
{
    public double? ReferenceParams { get; set; }
    public double? Exponent { get; set; }
}
