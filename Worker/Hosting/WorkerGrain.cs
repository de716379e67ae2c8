using Orchestrator.Contracts.Runs;
using Orchestrator.Contracts.Workers;

namespace Orchestrator.Worker.Hosting;

/// <summary>
/// The grain that commands one slot of this process. Pinned to this process by <see cref="WorkerPlacementAttribute"/>
/// (its key is the slot id, whose process part is this silo's name). It only posts to the slot's mailbox: a grain
/// turn never waits on training.
/// </summary>
[WorkerPlacement]
public sealed class WorkerGrain(WorkerRuntime runtime) : Grain, IWorkerGrain
{
    public Task AssignAsync(RunAssignment assignment)
    {
        runtime.Slot(this.GetPrimaryKeyString()).Post(new AssignCommand(assignment));
        return Task.CompletedTask;
    }

    public Task ReleaseAsync(string runId, string reason)
    {
        runtime.Slot(this.GetPrimaryKeyString()).Post(new ReleaseCommand(runId, reason));
        return Task.CompletedTask;
    }

    public Task<WorkerInfo> GetInfoAsync() => Task.FromResult(runtime.Slot(this.GetPrimaryKeyString()).Info);
}
