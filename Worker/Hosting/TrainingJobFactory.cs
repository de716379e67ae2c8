using Orchestrator.Contracts.Runs;

namespace Orchestrator.Worker.Hosting;

/// <summary>Picks the trainer a spec names: light (control-plane job, no TorchSharp) or gpt (the real trainer).</summary>
public sealed class TrainingJobFactory : ITrainingJobFactory
{
    public ITrainingJob Create(RunAssignment assignment, WorkerIdentity worker) => assignment.Spec.Trainer switch
    {
        "light" => new LightTrainingJob(assignment, worker),
        "gpt" => new GptTrainingJob(assignment, worker),
        var t => throw new NotSupportedException($"trainer '{t}' is not available in this worker build"),
    };
}
