using Orchestrator.Sharding.Model;
using Orchestrator.Tensors;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Engine;

/// <summary>
/// The one forward and backward of a micro-batch, for every mode. When neither strategy acts between stages (world 1,
/// and DDP's accumulation micro-steps) the model runs as one autograd graph. Otherwise the graph is cut at stage
/// boundaries (each stage's input detached into a leaf), so a stage's gradients are final as soon as its backward
/// returns: the residency's hooks run around each stage (ZeRO-3 gathers and drops its parameters) and the reduction
/// launches that stage's collective while the earlier stages' backward runs (overlap without tensor hooks, which
/// TorchSharp 0.107 lacks). With a residency that recomputes, the forward keeps only each stage's input and the
/// backward runs each stage's forward again with autograd.
/// </summary>
public sealed class StageWalk(StagedModel model, IParameterResidency residency, IGradientReduction reduction)
{
    /// <summary>
    /// Forward and backward of one micro-batch, the loss divided by <paramref name="microSteps"/>; returns that loss,
    /// detached (no host sync). <paramref name="mark"/> is told as each phase has been queued (profiling): forward,
    /// loss and backward for one graph, "forward+backward (staged)" for a cut one.
    /// </summary>
    public Tensor Run(Tensor x, Tensor y, int micro, int microSteps, Action<string>? mark = null)
    {
        using var scope = NewDisposeScope();
        var reduce = reduction.ActsPerStage(micro, microSteps);
        if (!reduce && !residency.ActsPerStage)
        {
            var logits = model.Forward(x);
            mark?.Invoke("forward");
            return BackwardFromLoss(logits, y, microSteps, mark);
        }
        var n = model.Stages.Count;
        var recompute = residency.RecomputesInBackward;
        var inputs = new Tensor[n];
        var outputs = new Tensor[n];
        var h = x;
        using (recompute ? no_grad() : null)
        {
            for (var g = 0; g < n; g++)
            {
                residency.BeforeForward(g);
                inputs[g] = g == 0 || recompute ? h : h.detach().requires_grad_(true);
                outputs[g] = h = model.Stages[g].Forward(inputs[g]);
                residency.AfterForward(g);
            }
        }
        Tensor? value = null, upstream = null;
        for (var g = n - 1; g >= 0; g--)
        {
            residency.BeforeBackward(g);
            var input = inputs[g];
            var output = outputs[g];
            if (recompute)
            {
                input = g == 0 ? x : inputs[g].detach().requires_grad_(true);
                output = model.Stages[g].Forward(input);
            }
            if (g == n - 1) value = BackwardFromLoss(output, y, microSteps);
            else output.backward([upstream!]);
            upstream = g > 0 ? input.grad : null;
            if (reduce) reduction.OnStageBackward(g, micro, microSteps);
            residency.AfterBackward(g);
        }
        residency.EndPass();
        mark?.Invoke("forward+backward (staged)");
        return value!;
    }

    /// <summary>
    /// The backward from the loss of the last stage's output divided by the micro-step count. Called inside the pass's
    /// dispose scope: the loss value it returns, detached, is moved out of that scope (the pass's result).
    /// </summary>
    Tensor BackwardFromLoss(Tensor headOutput, Tensor y, int microSteps, Action<string>? mark = null)
    {
        var scaled = model.Loss(headOutput, y).DivHeld(microSteps);
        mark?.Invoke("loss");
        var value = scaled.detach().MoveToOuterDisposeScope();
        scaled.backward();
        mark?.Invoke("backward");
        return value;
    }
}
