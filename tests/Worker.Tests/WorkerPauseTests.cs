using System.Reflection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Contracts.Cluster;
using Orchestrator.Contracts.Runs;
using Orchestrator.Contracts.Workers;
using Orchestrator.Worker.Hosting;

namespace Orchestrator.Tests.Worker;

/// <summary>
/// A worker pauses when its coordinator is gone, and leaves once every slot is idle. Seen in the fault suite (a
/// Redis coordinator SIGKILLed mid-sweep): a run whose last step came after the kill held its slot while the training
/// thread retried its finishing report to the dead coordinator, so the worker stayed in the dead cluster until its
/// 120 s pause timeout, and the sweep with it. The runtime here is the real one (slot threads, training loop) with
/// a control plane that registers the worker, lets the rank through the rendezvous and refuses every report.
/// </summary>
public sealed class WorkerPauseTests
{
    [Fact]
    public async Task A_run_that_finished_while_the_coordinator_is_gone_frees_its_slot_when_the_worker_pauses()
    {
        var coordinator = new DeadAfterRendezvous();
        var runtime = new WorkerRuntime(coordinator.Grains, new OneStepJobs(), new WorkerRuntimeOptions
        {
            Info = new WorkerInfo { Id = "w1", Device = "cpu", DeviceKind = "cpu", ProtocolVersion = ProtocolVersion.Current },
        }, new Lifetime(), NullLogger<WorkerRuntime>.Instance, new RunLogCapture());
        await runtime.StartAsync(CancellationToken.None);
        try
        {
            runtime.Slots[0].Post(new AssignCommand(new RunAssignment("r", new RunSpec { Trainer = "light" }, 1, 0, 1, ["w1"], null, 1)));
            // The run finished its one step and its finishing report was refused: the slot is still telling the coordinator.
            await coordinator.ReportRefused.Task.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(runtime.Slots[0].Busy);

            Assert.True(await runtime.PauseAsync(TimeSpan.FromSeconds(30), CancellationToken.None), "the slot stayed busy for 30 s after the pause");
            Assert.False(runtime.Slots[0].Busy);
        }
        finally
        {
            await runtime.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>Registers the worker and answers the rendezvous; every report then fails, as to a killed coordinator.</summary>
    sealed class DeadAfterRendezvous
    {
        public readonly TaskCompletionSource ReportRefused = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public IGrainFactory Grains { get; }

        public DeadAfterRendezvous()
        {
            var grains = DispatchProxy.Create<IGrainFactory, GrainsProxy>();
            ((GrainsProxy)(object)grains).Owner = this;
            Grains = grains;
        }

        public class GrainsProxy : DispatchProxy
        {
            public DeadAfterRendezvous Owner = null!;

            protected override object? Invoke(MethodInfo? method, object?[]? args)
            {
                var type = method!.IsGenericMethod ? method.GetGenericArguments()[0] : null;
                if (method.Name == nameof(IGrainFactory.GetGrain) && type == typeof(ISchedulerGrain)) return DispatchProxy.Create<ISchedulerGrain, SchedulerProxy>();
                if (method.Name == nameof(IGrainFactory.GetGrain) && type == typeof(IRunGrain))
                {
                    var run = DispatchProxy.Create<IRunGrain, RunProxy>();
                    ((RunProxy)(object)run).Owner = Owner;
                    return run;
                }
                throw new NotSupportedException($"{method.Name}<{type?.Name}>");
            }
        }

        public class SchedulerProxy : DispatchProxy
        {
            protected override object? Invoke(MethodInfo? method, object?[]? args) => method!.Name switch
            {
                nameof(ISchedulerGrain.RegisterWorkerAsync) => Task.FromResult((WorkerInfo)args![0]!),
                var name => throw new NotSupportedException(name),
            };
        }

        public class RunProxy : DispatchProxy
        {
            public DeadAfterRendezvous Owner = null!;

            protected override object? Invoke(MethodInfo? method, object?[]? args)
            {
                switch (method!.Name)
                {
                    case nameof(IRunGrain.RendezvousAsync):
                        return Task.FromResult(new RendezvousReply(RendezvousOutcome.Ready, [((RendezvousRequest)args![0]!).Bootstrap]));
                    case nameof(IRunGrain.ReportAsync):
                        Owner.ReportRefused.TrySetResult();
                        return Task.FromException<ReportOutcome>(new InvalidOperationException("no coordinator is up to host the control plane"));
                    default:
                        throw new NotSupportedException(method.Name);
                }
            }
        }
    }

    /// <summary>Jobs that finish at their first step.</summary>
    sealed class OneStepJobs : ITrainingJobFactory
    {
        public ITrainingJob Create(RunAssignment assignment, WorkerIdentity worker) => new Job();

        sealed class Job : ITrainingJob
        {
            public int NextStep { get; private set; } = 1;
            public string PrepareBootstrap() => "b";
            public void Start(IReadOnlyList<string> bootstraps) { }
            public StepOutcome Step() => new([new MetricPoint(NextStep++, 1.0, 0, null, DateTimeOffset.UtcNow)], null, Finished: true);
            public void Abort() { }
            public void Dispose() { }
        }
    }

    sealed class Lifetime : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => CancellationToken.None;
        public CancellationToken ApplicationStopping => CancellationToken.None;
        public CancellationToken ApplicationStopped => CancellationToken.None;
        public void StopApplication() { }
    }
}
