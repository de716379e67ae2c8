using Orchestrator.Contracts.Runs;
using Orchestrator.Contracts.Workers;

namespace Orchestrator.Worker.Hosting;

/// <summary>
/// One slot of a worker process: a registration of its own (<see cref="WorkerInfo.SlotId"/>), a mailbox and a
/// training thread, so a process with K slots trains K runs at once in one CUDA context. Everything a run touches
/// must be per slot (its job, mailbox, dispose scopes, which TorchSharp keeps per thread); what libtorch keeps per
/// process (the default generator, which dropout draws from) is the scheduler's to keep apart: a run with dropout
/// gets its process to itself.
/// </summary>
public sealed class WorkerSlot(WorkerInfo info)
{
    volatile ITrainingJob? current;
    volatile RunAssignment? currentAssignment;

    public WorkerInfo Info { get; internal set; } = info;
    internal WorkerMailbox Mailbox { get; } = new();
    internal Thread? Thread { get; set; }

    /// <summary>
    /// Queues the command, and unblocks a step stuck on a peer so it is seen at once. A release aborts only the job
    /// of the run it releases: a late release of a finished run must not break the next. A copy of the current job's
    /// own assignment (resent while this rank was not yet at the rendezvous) aborts nothing: the job is that generation.
    /// </summary>
    public void Post(WorkerCommand command)
    {
        if (!Mailbox.Post(command)) return;
        var running = currentAssignment;
        if (command is ReleaseCommand r && r.RunId != running?.RunId) return;
        if (command is AssignCommand a && running is not null && a.Assignment.IsCopyOf(running)) return;
        current?.Abort();
    }

    internal void SetCurrent(ITrainingJob? job, RunAssignment? assignment)
    {
        current = job;
        currentAssignment = assignment;
    }

    internal void Abort() => current?.Abort();

    volatile bool pausing;

    /// <summary>Set once the coordinator is gone: the current job ends at its next step with a checkpoint and no new one starts.</summary>
    internal bool Pausing => pausing;

    volatile bool busy;

    /// <summary>Whether a job is on this slot now (from its creation until it is disposed, checkpoint writes included).</summary>
    internal bool Busy { get => busy; set => busy = value; }

    internal void Pause()
    {
        pausing = true;
        current?.Pause();
    }
}
