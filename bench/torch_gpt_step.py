"""PyTorch's training step for a small GPT, eager and as one whole-step CUDA graph (the peer of `orch bench train`).

The model is a minimal GPT-2-style decoder written here (token + position embeddings, pre-LayerNorm blocks with
causal SDPA and a GELU MLP, tied head, biases unless --no-bias; no nanoGPT checkout needed), trained as `orch bench train` trains: bf16 autocast over fp32
weights, fused AdamW (weight decay 0.1 on matrices), global-norm clip 1.0, synthetic tokens. The graph variant
captures forward, loss, backward, clip and the optimizer step once (after warm-up on a side stream) and replays it
with each batch copied into static input buffers, PyTorch's "whole network capture".
Usage: python3 bench/torch_gpt_step.py --layers 6 --embd 384 --heads 6 --batch 32 --block 256 [--vocab 257] [--no-bias] [--json]
"""
import argparse, json, math, time
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--layers", type=int, required=True)
p.add_argument("--embd", type=int, required=True)
p.add_argument("--heads", type=int, required=True)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--block", type=int, default=256)
p.add_argument("--vocab", type=int, default=257)
p.add_argument("--no-bias", action="store_true", help="Linear and LayerNorm layers without biases")
p.add_argument("--steps", type=int, default=50)
p.add_argument("--warmup", type=int, default=10)
p.add_argument("--json", action="store_true")
a = p.parse_args()


bias = not a.no_bias


class Block(nn.Module):
    def __init__(self, c, h):
        super().__init__()
        self.h = h
        self.ln1, self.ln2 = nn.LayerNorm(c, bias=bias), nn.LayerNorm(c, bias=bias)
        self.qkv, self.proj = nn.Linear(c, 3 * c, bias=bias), nn.Linear(c, c, bias=bias)
        self.up, self.down = nn.Linear(c, 4 * c, bias=bias), nn.Linear(4 * c, c, bias=bias)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.h, c // self.h).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).contiguous().view(b, t, c)
        x = x + self.proj(y)
        return x + self.down(F.gelu(self.up(self.ln2(x))))


class Gpt(nn.Module):
    def __init__(self, layers, c, h, block, vocab):
        super().__init__()
        self.vocab = (vocab + 63) // 64 * 64
        self.tok, self.pos = nn.Embedding(self.vocab, c), nn.Embedding(block, c)
        self.blocks = nn.ModuleList(Block(c, h) for _ in range(layers))
        self.ln = nn.LayerNorm(c, bias=bias)
        for n, w in self.named_parameters():
            if w.dim() == 2: nn.init.normal_(w, 0.0, 0.02 / math.sqrt(2 * layers) if n.endswith(("proj.weight", "down.weight")) else 0.02)
            elif n.endswith("bias"): nn.init.zeros_(w)

    def forward(self, x, y):
        h = self.tok(x) + self.pos(torch.arange(x.shape[1], device=x.device))
        for blk in self.blocks: h = blk(h)
        logits = F.linear(self.ln(h), self.tok.weight)  # tied head
        return F.cross_entropy(logits.float().view(-1, logits.size(-1)), y.view(-1))


torch.manual_seed(1337)
torch.backends.cuda.matmul.allow_tf32 = True
dev = "cuda"


def build():
    m = Gpt(a.layers, a.embd, a.heads, a.block, a.vocab).to(dev)
    decay = [w for w in m.parameters() if w.dim() >= 2]
    plain = [w for w in m.parameters() if w.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": plain, "weight_decay": 0.0}],
                            lr=torch.tensor(1e-3, device=dev), betas=(0.9, 0.95), fused=True, capturable=True)
    return m, opt


def batch():
    return (torch.randint(a.vocab, (a.batch, a.block), device=dev), torch.randint(a.vocab, (a.batch, a.block), device=dev))


def step(m, opt, x, y):
    with torch.autocast("cuda", dtype=torch.bfloat16, cache_enabled=False):
        loss = m(x, y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0, foreach=True)
    opt.step()
    opt.zero_grad(set_to_none=False)
    return loss


def timed(run):
    for _ in range(a.warmup): run()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(a.steps): loss = run()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / a.steps * 1000, loss.item()


batches = [batch() for _ in range(8)]
m, opt = build()
i = [0]
def eager():
    x, y = batches[i[0] % len(batches)]; i[0] += 1
    return step(m, opt, x, y)
eager_ms, eager_loss = timed(eager)

m, opt = build()
sx, sy = (t.clone() for t in batches[0])
side = torch.cuda.Stream()
side.wait_stream(torch.cuda.current_stream())
with torch.cuda.stream(side):
    for _ in range(3): step(m, opt, sx, sy)  # warm-up outside the capture (allocations, fused kernels, autograd)
torch.cuda.current_stream().wait_stream(side)
graph = torch.cuda.CUDAGraph()
with torch.cuda.graph(graph):
    static_loss = step(m, opt, sx, sy)
j = [0]
def replay():
    x, y = batches[j[0] % len(batches)]; j[0] += 1
    sx.copy_(x, non_blocking=True); sy.copy_(y, non_blocking=True)
    graph.replay()
    return static_loss
graph_ms, graph_loss = timed(replay)

n = sum(w.numel() for w in m.parameters())
flops = 6 * (n - a.block * a.embd) + 12 * a.layers * a.embd * a.block  # nanoGPT's estimate_mfu per token
tokens = a.batch * a.block
out = {"layers": a.layers, "embd": a.embd, "heads": a.heads, "batch": a.batch, "block": a.block, "parameters": n,
       "eager_ms": eager_ms, "graph_ms": graph_ms, "eager_loss": eager_loss, "graph_loss": graph_loss,
       "graph_mfu": flops * tokens / (graph_ms / 1000) / 989e12}
if a.json: print(json.dumps(out))
else: print(f"torch {a.layers}x{a.embd} batch {a.batch}x{a.block}: eager {eager_ms:.2f} ms/step, whole-step CUDA graph {graph_ms:.2f} ms/step "
            f"(MFU {out['graph_mfu']:.1%})")
