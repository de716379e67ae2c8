using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Worker.Model;

/// <summary>One pre-LayerNorm transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x)).</summary>
public sealed class Block : nn.Module<Tensor, Tensor>
{
    readonly LayerNorm ln_1;
    readonly CausalSelfAttention attn;
    readonly LayerNorm ln_2;
    readonly Mlp mlp;

    public Block(GptConfig config) : base(nameof(Block))
    {
        ln_1 = nn.LayerNorm(config.NEmbd, eps: 1e-5, bias: config.Bias);
        attn = new CausalSelfAttention(config);
        ln_2 = nn.LayerNorm(config.NEmbd, eps: 1e-5, bias: config.Bias);
        mlp = new Mlp(config);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = x + attn.call(ln_1.call(x));
        return x + mlp.call(ln_2.call(x));
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) { ln_1.Dispose(); attn.Dispose(); ln_2.Dispose(); mlp.Dispose(); }
        base.Dispose(disposing);
    }
}
