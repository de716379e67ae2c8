using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Worker.Model;

/// <summary>The block's feed-forward part: C -> 4C, exact GELU (as GPT-2 and nanoGPT), 4C -> C.</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    readonly Linear c_fc;
    readonly Linear c_proj;
    readonly double _dropout;

    public Mlp(GptConfig config) : base(nameof(Mlp))
    {
        c_fc = nn.Linear(config.NEmbd, 4 * config.NEmbd, hasBias: config.Bias);
        c_proj = nn.Linear(4 * config.NEmbd, config.NEmbd, hasBias: config.Bias);
        _dropout = config.Dropout;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var y = c_proj.call(nn.functional.gelu(c_fc.call(x)));
        return training && _dropout > 0 ? nn.functional.dropout(y, _dropout, training) : y;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) { c_fc.Dispose(); c_proj.Dispose(); }
        base.Dispose(disposing);
    }
}
