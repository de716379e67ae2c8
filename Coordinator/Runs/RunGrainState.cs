using Orchestrator.Contracts.Runs;

namespace Orchestrator.Coordinator.Runs;

/// <summary>
/// What a RunGrain persists (memory in embedded mode, Redis in cluster mode): the public status plus the
/// bookkeeping of the current generation (who has posted a bootstrap, which checkpoint shards are written, who finished).
/// </summary>
[GenerateSerializer, Alias("orch.RunGrainState")]
public sealed class RunGrainState
{
    [Id(0)] public RunStatus? Status { get; set; }
    /// <summary>Bootstrap per rank for the current generation (null: not arrived).</summary>
    [Id(1)] public string?[] Bootstraps { get; set; } = [];
    /// <summary>Checkpoint step -> ranks that wrote their shard, current generation only.</summary>
    [Id(2)] public Dictionary<int, HashSet<int>> ShardsWritten { get; set; } = [];
    [Id(3)] public HashSet<int> FinishedRanks { get; set; } = [];
    [Id(4)] public double? FinalValLoss { get; set; }
    /// <summary>Generations started in a row without a new checkpoint: bounds retries after transient failures.</summary>
    [Id(5)] public int RestartsWithoutProgress { get; set; }
    /// <summary>The current generation's first step and the tokens all ranks had trained before it (for each point's token count).</summary>
    [Id(6)] public int GenerationStep { get; set; }
    [Id(7)] public long GenerationTokens { get; set; }
    /// <summary>Tokens trained up to each kept checkpoint (a generation resuming there starts counting from it).</summary>
    [Id(8)] public Dictionary<int, long> CheckpointTokens { get; set; } = [];
}
