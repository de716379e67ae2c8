namespace Orchestrator.Worker.Records;

/// <summary>
/// One report of a run as its records keep it (a line of metrics.jsonl, a TensorBoard step): the window of steps since
/// the previous report, measured by rank 0.
/// </summary>
/// <param name="Step">Optimizer steps completed.</param>
/// <param name="Tokens">Tokens trained so far: steps x the current global batch (all ranks).</param>
/// <param name="Loss">Mean training loss over the window's steps (and ranks).</param>
/// <param name="ValLoss">Validation loss when it was measured at this step.</param>
/// <param name="LearningRate">The LR of the window's last step.</param>
/// <param name="TokensPerSecond">Tokens trained per second over the window (all ranks).</param>
/// <param name="Mfu">Model FLOPs utilisation over the window (null on CPU).</param>
/// <param name="WorldSize">Ranks sharing each step.</param>
/// <param name="Time">When the report was made.</param>
public sealed record MetricsRecord(
    long Step, long Tokens, double Loss, double? ValLoss, double LearningRate, double TokensPerSecond, double? Mfu, int WorldSize,
    DateTimeOffset Time);
