using Orchestrator.Contracts.Runs;
using Orchestrator.Contracts.Workers;
using Orchestrator.Worker.Hosting;

namespace Orchestrator.Tests.Worker;

/// <summary>
/// The worker's one-slot mailbox. The grain's calls are one-way and come from different run grains, so they can
/// arrive out of order: seen in a sweep on `orch local`, where run A's release reached the worker after the
/// assignment to run B that A's end made possible, erased it, and left B waiting at its rendezvous for ever. The slot
/// aborts its current job only for a command that ends it.
/// </summary>
public sealed class WorkerMailboxTests
{
    static AssignCommand Assign(string run, int generation = 1) =>
        new(new RunAssignment(run, new RunSpec(), generation, 0, 1, ["worker-1"], null, 10));

    [Fact]
    public void A_late_release_of_the_finished_run_keeps_the_next_runs_assignment()
    {
        var box = new WorkerMailbox();
        Assert.True(box.Post(Assign("B")));
        Assert.False(box.Post(new ReleaseCommand("A", "completed")));
        var taken = Assert.IsType<AssignCommand>(box.TryTake());
        Assert.Equal("B", taken.Assignment.RunId);
        Assert.Null(box.TryTake());
    }

    [Fact]
    public void A_newer_command_replaces_an_unread_one_otherwise()
    {
        var box = new WorkerMailbox();
        box.Post(new ReleaseCommand("A", "completed"));
        box.Post(Assign("B"));
        Assert.Equal("B", Assert.IsType<AssignCommand>(box.TryTake()).Assignment.RunId);

        box.Post(Assign("A", generation: 2));
        box.Post(Assign("A", generation: 3));
        Assert.Equal(3, Assert.IsType<AssignCommand>(box.TryTake()).Assignment.Generation);

        // The run's own release wins over its pending assignment: the run has ended.
        box.Post(Assign("A", generation: 4));
        Assert.True(box.Post(new ReleaseCommand("A", "cancelled")));
        Assert.Equal("A", Assert.IsType<ReleaseCommand>(box.TryTake()).RunId);
    }

    [Fact]
    public void The_slot_aborts_its_job_for_a_newer_generation_or_its_own_release_and_never_for_a_resent_copy()
    {
        var slot = new WorkerSlot(new WorkerInfo { Id = "worker-1" });
        var job = new CountingJob();
        slot.SetCurrent(job, Assign("A", generation: 2).Assignment);

        slot.Post(Assign("A", generation: 2)); // the coordinator resends to a rank not yet at the rendezvous
        slot.Post(new ReleaseCommand("B", "completed")); // a late release of another run
        Assert.Equal(0, job.Aborts);

        slot.Post(Assign("A", generation: 3));
        Assert.Equal(1, job.Aborts);
        slot.Post(new ReleaseCommand("A", "cancelled"));
        Assert.Equal(2, job.Aborts);
    }

    sealed class CountingJob : ITrainingJob
    {
        public int Aborts;
        public int NextStep => 1;
        public string PrepareBootstrap() => "-";
        public void Start(IReadOnlyList<string> bootstraps) { }
        public StepOutcome Step() => throw new InvalidOperationException("not stepped in this test");
        public void Abort() => Aborts++;
        public void Dispose() { }
    }

    [Fact]
    public void Take_returns_the_assignment_that_survived_a_late_release()
    {
        var box = new WorkerMailbox();
        box.Post(Assign("B"));
        box.Post(new ReleaseCommand("A", "completed"));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10)); // a guard: the command is there already
        Assert.Equal("B", Assert.IsType<AssignCommand>(box.Take(cts.Token)).Assignment.RunId);
    }
}
