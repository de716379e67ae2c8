using Orchestrator.Contracts.Runs;

namespace Orchestrator.Worker.Hosting;

/// <summary>Picks the trainer a spec names: light (control-plane job, no TorchSharp) or gpt (the real trainer, when one is plugged in).</summary>
public sealed class TrainingJobFactory(Func<RunAssignment, WorkerIdentity, ITrainingJob>? gpt = null) : ITrainingJobFactory
{
    public ITrainingJob Create(RunAssignment assignment, WorkerIdentity worker) => assignment.Spec.Trainer switch
    {
        "light" => new LightTrainingJob(assignment, worker),
        "gpt" when gpt is not null => gpt(assignment, worker),
        var t => throw new NotSupportedException($"trainer '{t}' is not available in this worker build"),
    };
}
