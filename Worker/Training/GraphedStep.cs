using Orchestrator.Sharding.Interop;
using Orchestrator.Sharding.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Worker.Training;

/// <summary>
/// The engine's world-1 training step (<see cref="StepEngine.Step"/>: micro-batch forwards and backwards, clip, fused
/// AdamW, gradients dropped)
/// captured once in a CUDA graph and replayed: small models are launch-bound, and one graph launch replaces the
/// hundreds of kernel launches a step makes. PyTorch's recipe (torch.cuda.graphs, whole-network capture): a few
/// eager steps on a side stream first (cuBLAS workspaces, the fused kernel's TorchScript, the allocator's pools
/// settle there), then one capture, then a replay per step with the batch copied into static input buffers.
///
/// Invariant: everything the captured code reads that changes from step to step lives in device tensors written
/// before each replay: the batch (<see cref="_x"/>, <see cref="_y"/>), the learning rate and the AdamW step count
/// (<see cref="StepEngine.BeginStep"/>). The outputs (summed micro-batch loss, gradient norm) are the tensors the
/// capture made, rewritten by every replay. The trainer's thread runs on a pool stream for the whole run
/// (<see cref="CudaStreams.UseOwnStream"/>), so eager steps, the capture, replays, evaluation and checkpoints are
/// ordered on one stream. A capture that fails (an unsupported call inside the step) is ended without harm, one
/// warning line says why, and the run goes on eagerly from the same step: results do not depend on which path ran.
/// </summary>
public sealed class GraphedStep : IDisposable
{
    /// <summary>Eager steps on the side stream before the capture (PyTorch's examples use three).</summary>
    public const int WarmupSteps = 3;

    readonly StepEngine _engine;
    readonly int _gradAccum;
    readonly Action<string> _warn;
    readonly Tensor[] _x, _y;        // static inputs, one (B, T) pair per micro-batch
    CudaGraph? _graph;
    Tensor? _loss, _norm;            // static outputs of the captured step
    int _eagerSteps;
    bool _failed;

    /// <summary>Whether a step is being replayed from a graph (false during warm-up and after a failed capture).</summary>
    public bool Captured => _graph is not null;

    /// <summary>Why capture failed, when it did (the run then trains eagerly).</summary>
    public string? FailureReason { get; private set; }

    /// <summary>A graphed step that never captures: its static buffers and step bookkeeping, testable on the CPU.</summary>
    internal static GraphedStep NeverCapturing(StepEngine engine, TrainOptions o, Device device) =>
        new(engine, o.BatchSize, o.BlockSize, o.GradAccum, device, _ => { }) { _failed = true };

    GraphedStep(StepEngine engine, int batch, int block, int gradAccum, Device device, Action<string> warn)
    {
        _engine = engine;
        _gradAccum = gradAccum;
        _warn = warn;
        _x = Enumerable.Range(0, gradAccum).Select(_ => zeros([batch, block], ScalarType.Int64, device).DetachFromDisposeScope()).ToArray();
        _y = Enumerable.Range(0, gradAccum).Select(_ => zeros([batch, block], ScalarType.Int64, device).DetachFromDisposeScope()).ToArray();
    }

    /// <summary>
    /// The decision, made once per run: a graphed step for <paramref name="mode"/> "on" or "auto" when this run can
    /// use one, else null and the reason (null for "off", or for "auto" where graphs do not apply, such as the CPU).
    /// "on" on a CPU device is bad input.
    /// </summary>
    public static GraphedStep? TryCreate(string mode, StepEngine engine, TrainOptions o, DeviceInfo device,
        Action<string> warn, out string? reason)
    {
        reason = null;
        if (mode == "off") return null;
        bool on = mode == "on";
        if (!device.IsCuda)
        {
            if (on) throw new ArgumentException($"--cuda-graphs on needs a CUDA device (--device {o.Device}); use auto or off");
            return null;
        }
        // Where graphs do not apply, "auto" is quietly eager; where they should work and do not, the caller warns.
        string? notApplicable = o.WorldSize > 1 ? "CUDA graphs capture the single-process step only (this run has several ranks)"
            : engine.Reduction is not NoReduction || engine.Residency is not ReplicatedParameters ? "CUDA graphs capture the unsharded step only (--zero 0)"
            : null;
        if (notApplicable is not null)
        {
            reason = on ? notApplicable : null;
            return null;
        }
        var adam = engine.Optimizer;
        if (!adam.Fused) reason = "they need libtorch's fused AdamW (" + adam.FusedUnavailableReason + ")";
        else if (!CudaGraph.TryLoad(out var why)) reason = why;
        if (reason is not null) return null;
        return new GraphedStep(engine, o.BatchSize, o.BlockSize, o.GradAccum, device.Device, warn);
    }

    /// <summary>
    /// One optimizer step on <paramref name="batches"/> (one (x, y) per micro-batch, on the device) at
    /// <paramref name="learningRate"/>: eager while warming up, then captured once and replayed. Returns the summed
    /// micro-batch loss and the pre-clip gradient norm as device scalars (read them only at log steps: a host sync).
    /// </summary>
    public (Tensor Loss, Tensor Norm) Step(IReadOnlyList<(Tensor X, Tensor Y)> batches, double learningRate)
    {
        for (int i = 0; i < _gradAccum; i++)
        {
            _x[i].copy_(batches[i].X);
            _y[i].copy_(batches[i].Y);
        }
        _engine.BeginStep(learningRate);
        if (_graph is not null)
        {
            _graph.Replay();
            return (_loss!, _norm!);
        }
        if (_failed || _eagerSteps < WarmupSteps)
        {
            _eagerSteps++;
            return Body();
        }
        return Capture();
    }

    (Tensor Loss, Tensor Norm) Capture()
    {
        // One capture at a time in the process: packed runs on other threads keep training (eagerly or replaying)
        // meanwhile, but two captures never overlap, so libtorch's capture bookkeeping (the default generator's
        // registered graphs, the allocator's pools under way) never sees two at once. A capture lasts one step.
        lock (CaptureGate) return CaptureAlone();
    }

    static readonly Lock CaptureGate = new();

    (Tensor Loss, Tensor Norm) CaptureAlone()
    {
        var graph = new CudaGraph();
        (Tensor Loss, Tensor Norm) outputs;
        string? reason;
        try
        {
            graph.CaptureBegin();
            outputs = Body();
            if (graph.TryCaptureEnd(out reason))
            {
                _graph = graph;
                _loss = outputs.Loss.DetachFromDisposeScope();
                _norm = outputs.Norm.DetachFromDisposeScope();
                _graph.Replay(); // capture recorded the step without running it
                return (_loss, _norm);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            graph.Abandon();
            reason = e.Message.Split('\n')[0];
        }
        // Nothing recorded ran: drop what autograd left behind and take this step eagerly (its rate and count are set).
        _failed = true;
        FailureReason = reason;
        _engine.ZeroGrad();
        _warn($"CUDA graph capture failed ({reason}); training eagerly");
        return Body();
    }

    // The step itself: the same kernels eager and captured.
    (Tensor Loss, Tensor Norm) Body()
    {
        var (loss, norm) = _engine.Step([.. _x.Zip(_y)]);
        return (loss, norm);
    }

    public void Dispose()
    {
        _graph?.Dispose();
        _loss?.Dispose();
        _norm?.Dispose();
        foreach (var t in _x.Concat(_y)) t.Dispose();
    }
}
