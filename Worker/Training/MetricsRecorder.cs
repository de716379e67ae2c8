using Orchestrator.Worker.Records;

namespace Orchestrator.Worker.Training;

/// <summary>
/// Rank 0's run records (<see cref="RunRecords"/>: metrics.jsonl, TensorBoard scalars when asked) beside its
/// checkpoints, opened at the first report. Risk accepted on purpose: they serve other tools, so failing to write them
/// warns once and training goes on (the checkpoints are what a run must not lose); other ranks and runs without a
/// run folder record nothing.
/// </summary>
sealed class MetricsRecorder(TrainOptions o, long startStep, Action<string> warn) : IDisposable
{
    RunRecords? _records;
    bool _failed;

    public void Record(MetricsRecord r)
    {
        if (o.OutDir is null || o.Rank != 0 || _failed) return;
        try
        {
            _records ??= new RunRecords(o.OutDir, startStep, o.TensorBoard);
            _records.Append(r);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _failed = true;
            warn($"run records ({RunRecords.MetricsFile}) not written: {e.Message}");
        }
    }

    public void Dispose() => _records?.Dispose();
}
