using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Worker.Optimization;

/// <summary>
/// A group of parameters laid out in one contiguous buffer per role (fp32 master, compute copy, gradient, AdamW
/// moments). Each model parameter is re-pointed (<c>set_</c>) at its slice of the compute buffer and its
/// <c>.grad</c> at its slice of the gradient buffer; autograd accumulates into that slice in place. Why: the whole
/// update becomes a handful of large kernels instead of several per tensor (what PyTorch's fused/multi-tensor AdamW
/// buys), the bf16 refresh is one copy, and the flat buffers are exactly what DDP buckets and ZeRO shards slice.
/// </summary>
public sealed class FlatParameterGroup : IDisposable
{
    public sealed record Slot(string Name, long Offset, long Length, long[] Shape);

    public IReadOnlyList<Slot> Slots { get; }
    public long Length { get; }
    public bool Decay { get; }
    public Tensor Master { get; }                 // fp32
    public Tensor Compute { get; private set; }   // compute dtype; the same tensor as Master when that is fp32
    public Tensor Grad { get; private set; }      // compute dtype
    public Tensor ExpAvg { get; }                 // fp32
    public Tensor ExpAvgSq { get; }               // fp32

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
        foreach (var ((_, p), s) in parameters.Zip(slots)) Master.narrow(0, s.Offset, s.Length).copy_(p.detach().reshape(-1).to(ScalarType.Float32));
        Compute = Master;
        Grad = Master; // replaced in Bind
        ExpAvg = zeros(Length, ScalarType.Float32, device);
        ExpAvgSq = zeros(Length, ScalarType.Float32, device);
    }

    /// <summary>
    /// Points the model's parameters (already in <paramref name="computeDtype"/>, looked up by name) at slices of the
    /// compute buffer and their gradients at slices of the gradient buffer.
    /// </summary>
    public void Bind(IReadOnlyDictionary<string, Parameter> parameters, ScalarType computeDtype)
    {
        using var _ = no_grad();
        var device = Master.device;
        Compute = computeDtype == ScalarType.Float32 ? Master : Master.to(computeDtype);
        Grad = zeros(Length, computeDtype, device);
        foreach (var s in Slots)
        {
            var p = parameters[s.Name];
            p.set_(View(Compute, s));
            p.grad = View(Grad, s);
        }
    }

    /// <summary>A slot's view into a flat buffer of this group.</summary>
    public Tensor View(Tensor flat, Slot s) => flat.narrow(0, s.Offset, s.Length).view(s.Shape);

    public void Dispose()
    {
        if (!ReferenceEquals(Compute, Master)) Compute.Dispose();
        if (!ReferenceEquals(Grad, Master)) Grad.Dispose();
        Master.Dispose();
        ExpAvg.Dispose();
        ExpAvgSq.Dispose();
    }
}
