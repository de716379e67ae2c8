namespace Orchestrator.Worker.Training;

/// <summary>
/// The loss or the gradient norm stopped being a finite number: training on would only write NaN weights, so the
/// run stops at the step where it was seen, and the newest checkpoint on disk (written before, at a step that was
/// checked) is the last good state.
/// </summary>
public sealed class TrainingDivergedException(long step, double loss, double gradNorm, string? lastGoodCheckpoint)
    : Exception($"training diverged at step {step}: loss {loss}, gradient norm {gradNorm}; " +
        (lastGoodCheckpoint is null ? "no checkpoint was written before it" : $"the last good checkpoint is {lastGoodCheckpoint}") +
        " (lower the learning rate, or resume from an earlier checkpoint with a smaller one)")
{
    public long Step { get; } = step;
    public double Loss { get; } = loss;
    public double GradNorm { get; } = gradNorm;
    public string? LastGoodCheckpoint { get; } = lastGoodCheckpoint;
}
