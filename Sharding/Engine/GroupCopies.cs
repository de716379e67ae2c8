using Orchestrator.Sharding.Model;
using Orchestrator.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Engine;

/// <summary>Copies between a stage's parameters (or their gradients) and its span of a flat vector in full coordinates.</summary>
public sealed class GroupCopies(StagedModel model, FlatLayout layout)
{
    readonly List<(ParamSlot Slot, TorchSharp.Modules.Parameter P)>[] _byGroup = Build(model, layout);

    static List<(ParamSlot, TorchSharp.Modules.Parameter)>[] Build(StagedModel model, FlatLayout layout)
    {
        var groups = Enumerable.Range(0, layout.Groups.Count).Select(_ => new List<(ParamSlot, TorchSharp.Modules.Parameter)>()).ToArray();
        for (var i = 0; i < model.Parameters.Count; i++) groups[layout.Params[i].Group].Add((layout.Params[i], model.Parameters[i].Parameter));
        return groups;
    }

    public IReadOnlyList<(ParamSlot Slot, TorchSharp.Modules.Parameter P)> Members(int group) => _byGroup[group];

    public void ParamsToFlat(int group, Tensor full, long baseOffset = 0)
    {
        using var _ = no_grad();
        foreach (var (slot, p) in _byGroup[group])
            full.narrow(0, layout.FullOffset(slot) - baseOffset, slot.Numel).copy_(p.detach().reshape(-1));
    }

    /// <summary>
    /// Gradients into the flat vector, each parameter's dropped once copied (the copy is queued on the same stream,
    /// so its memory is reused only after it ran): gradients exist once, not twice. A parameter without a gradient
    /// (unused) contributes zeros.
    /// </summary>
    public void GradsToFlat(int group, Tensor full, long baseOffset = 0)
    {
        using var _ = no_grad();
        foreach (var (slot, p) in _byGroup[group])
        {
            using var dst = full.narrow(0, layout.FullOffset(slot) - baseOffset, slot.Numel);
            using var g = p.grad;
            if (g is null) dst.zero_();
            else
            {
                using var flat = g.reshape(-1); // disposed here, not with the caller's scope: it would keep the gradient alive
                dst.copy_(flat);
            }
            p.grad = null;
        }
    }

    /// <summary>ZeRO-3: makes the stage's parameters views of a gathered buffer (no copy).</summary>
    public void Materialize(int group, Tensor gathered)
    {
        using var _ = no_grad();
        var g = layout.Groups[group];
        foreach (var (slot, p) in _byGroup[group])
        {
            // Disposed now: left to the caller's scope, the view would hold the gathered storage after Release.
            using var view = gathered.ViewOf(layout.FullOffset(slot) - g.FullOffset, slot.Numel, slot.Shape);
            p.set_(view);
        }
    }

    /// <summary>ZeRO-3: drops the stage's parameter storage (and gradients) until the next gather.</summary>
    public void Release(int group, ScalarType dtype, Device device)
    {
        using var _ = no_grad();
        foreach (var (_, p) in _byGroup[group])
        {
            p.grad = null;
            using var nothing = empty(0, dtype: dtype, device: device);
            p.set_(nothing);
        }
    }
}
