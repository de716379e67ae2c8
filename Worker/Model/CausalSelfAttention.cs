using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Worker.Model;

/// <summary>
/// Multi-head causal self-attention: one fused QKV projection, SDPA (flash kernels on CUDA), output projection. Under
/// μP the scores are scaled by 1/d_head instead of SDPA's 1/sqrt(d_head): the query is multiplied by 1/sqrt(d_head)
/// before SDPA (so the flash kernels still apply); the exporter folds that factor into c_attn's query rows.
/// </summary>
public sealed class CausalSelfAttention : nn.Module<Tensor, Tensor>
{
    // Field names are the parameter names (attn.c_attn.weight, ...), matching nanoGPT and GPT-2 checkpoints.
    readonly Linear c_attn;
    readonly Linear c_proj;
    readonly int _nHead;
    readonly double _dropout;
    readonly Scalar? _queryScale; // μP: 1/sqrt(d_head) on the query; null under SP

    public CausalSelfAttention(GptConfig config) : base(nameof(CausalSelfAttention))
    {
        c_attn = nn.Linear(config.NEmbd, 3 * config.NEmbd, hasBias: config.Bias);
        c_proj = nn.Linear(config.NEmbd, config.NEmbd, hasBias: config.Bias);
        _nHead = config.NHead;
        _dropout = config.Dropout;
        if (config.Mup) _queryScale = 1.0 / Math.Sqrt(config.HeadSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        long b = x.shape[0], t = x.shape[1], c = x.shape[2], hs = c / _nHead;
        var qkv = c_attn.call(x).split(c, dim: 2);                                 // 3 x (B, T, C)
        var q = qkv[0].view(b, t, _nHead, hs).transpose(1, 2);                      // (B, nh, T, hs)
        if (_queryScale is { } qs) q = q.mul(qs);
        var k = qkv[1].view(b, t, _nHead, hs).transpose(1, 2);                      // (B, nh, T, hs)
        var v = qkv[2].view(b, t, _nHead, hs).transpose(1, 2);                      // (B, nh, T, hs)
        var p = training ? _dropout : 0.0;
        var y = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: null, p: p, is_casual: true); // (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(b, t, c);                           // re-assemble heads: (B, T, C)
        y = c_proj.call(y);
        return p > 0 ? nn.functional.dropout(y, p, training) : y;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) { c_attn.Dispose(); c_proj.Dispose(); _queryScale?.Dispose(); }
        base.Dispose(disposing);
    }
}
