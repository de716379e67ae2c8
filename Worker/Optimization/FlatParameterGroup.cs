using Orchestrator.Sharding.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Worker.Optimization;

/// <summary>
/// A group of parameters laid out in one contiguous buffer per role (fp32 master, compute copy, fp32 gradient,
/// AdamW moments). Each model parameter is re-pointed (<c>set_</c>) at its slice of the compute buffer, so the
/// update is a handful of large kernels instead of several per tensor (what PyTorch's fused/multi-tensor AdamW
/// buys) and the bf16 refresh is one copy. Gradients are left to autograd (a fresh tensor per parameter, as with
/// PyTorch's zero_grad(set_to_none=True)) and gathered into the fp32 buffer once per step: that copy is also the
/// bf16 to fp32 conversion the fused kernel needs, so it is the only pass over them before the update.
/// </summary>
public sealed class FlatParameterGroup : IDisposable
{
    public sealed record Slot(string Name, long Offset, long Length, long[] Shape);

    public IReadOnlyList<Slot> Slots { get; }
    public long Length { get; }
    public bool Decay { get; }
    public Tensor Master { get; }                 // fp32
    public Tensor Compute { get; private set; }   // compute dtype; the same tensor as Master when that is fp32
    public Tensor Grad { get; }                   // fp32, filled by GatherGrads
    public Tensor ExpAvg { get; }                 // fp32
    public Tensor ExpAvgSq { get; }               // fp32

    Parameter[] _bound = [];
    Tensor[] _gradViews = [];

    /// <summary>Copies the (fp32) parameters into a new flat master buffer; call <see cref="Bind"/> next.</summary>
    public FlatParameterGroup(IReadOnlyList<(string Name, Parameter Parameter)> parameters, bool decay, Device device)
    {
        Decay = decay;
        var slots = new List<Slot>();
        long offset = 0;
        foreach (var (name, p) in parameters)
        {
            slots.Add(new Slot(name, offset, p.numel(), p.shape));
            offset += p.numel();
        }
        Slots = slots;
        Length = offset;
        using var _ = no_grad();
        Master = empty(Length, ScalarType.Float32, device);
        foreach (var ((_, p), s) in parameters.Zip(slots))
        {
            // The scope holds the temporaries (narrow, detach, reshape, to) until the copy has run: unreferenced,
            // one could be finalized by the GC while libtorch still uses its handle.
            using var scope = NewDisposeScope();
            Master.narrow(0, s.Offset, s.Length).copy_(p.detach().reshape(-1).to(ScalarType.Float32));
        }
        Compute = Master;
        Grad = zeros(Length, ScalarType.Float32, device);
        ExpAvg = zeros(Length, ScalarType.Float32, device);
        ExpAvgSq = zeros(Length, ScalarType.Float32, device);
    }

    /// <summary>
    /// Points the model's parameters (already in <paramref name="computeDtype"/>, looked up by name) at slices of the
    /// compute buffer.
    /// </summary>
    public void Bind(IReadOnlyDictionary<string, Parameter> parameters, ScalarType computeDtype)
    {
        using var _ = no_grad();
        Compute = computeDtype == ScalarType.Float32 ? Master : Master.to(computeDtype);
        _bound = Slots.Select(s => parameters[s.Name]).ToArray();
        foreach (var (s, p) in Slots.Zip(_bound))
        {
            using var view = View(Compute, s); // held until set_ has run; p keeps the storage, not this handle
            p.set_(view);
            p.grad = null;
        }
        _gradViews = Slots.Select(s => View(Grad, s)).ToArray();
    }

    /// <summary>The parameters' gradients into <see cref="Grad"/> (converted to fp32); a parameter without one adds zeros.</summary>
    public void GatherGrads()
    {
        for (var i = 0; i < _bound.Length; i++)
        {
            using var g = _bound[i].grad;
            if (g is null) _gradViews[i].zero_();
            else _gradViews[i].copy_(g);
        }
    }

    /// <summary>Drops the parameters' gradients; the next backward makes fresh ones.</summary>
    public void DropGrads()
    {
        foreach (var p in _bound) p.grad = null;
    }

    /// <summary>A slot's view into a flat buffer of this group.</summary>
    public Tensor View(Tensor flat, Slot s) => flat.ViewOf(s.Offset, s.Length, s.Shape);

    public void Dispose()
    {
        foreach (var v in _gradViews) v.Dispose();
        if (!ReferenceEquals(Compute, Master)) Compute.Dispose();
        Grad.Dispose();
        Master.Dispose();
        ExpAvg.Dispose();
        ExpAvgSq.Dispose();
    }
}
