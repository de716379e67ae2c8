"""The PyTorch peer of `orch bench train --cuda-graphs on|off`: nanoGPT's model.py trained eagerly and with the whole
step (forward, loss, backward, clip, fused AdamW with capturable=True, zero_grad) captured in one torch.cuda.CUDAGraph,
following PyTorch's whole-network capture recipe (warm-up on a side stream, capture, replay with the batch copied
into static inputs). Same shape, batch, bf16 autocast, AdamW grouping (decay on 2-D weights) and clip as ours.
The model comes from a nanoGPT checkout at NANOGPT_DIR; nothing of it is copied here.
Prints one JSON line per mode: {"mode", "ms_per_step", "tokens_per_second", "loss"}.
"""
import argparse, json, os, sys, time
import torch

p = argparse.ArgumentParser()
p.add_argument("--n-layer", type=int, required=True)
p.add_argument("--n-head", type=int, required=True)
p.add_argument("--n-embd", type=int, required=True)
p.add_argument("--vocab", type=int, default=320)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--block", type=int, default=256)
p.add_argument("--steps", type=int, default=200)
p.add_argument("--warmup", type=int, default=20)
p.add_argument("--grad-clip", type=float, default=1.0)
p.add_argument("--modes", default="eager,graph")
a = p.parse_args()
sys.path.insert(0, os.environ["NANOGPT_DIR"])
from model import GPT, GPTConfig  # noqa: E402

torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True


def build():
    torch.manual_seed(1337)
    model = GPT(GPTConfig(block_size=a.block, vocab_size=a.vocab, n_layer=a.n_layer, n_head=a.n_head, n_embd=a.n_embd,
                          dropout=0.0, bias=False)).cuda()
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=torch.tensor(6e-4, device="cuda"), betas=(0.9, 0.95), fused=True, capturable=True)
    return model, opt


ctx = torch.amp.autocast(device_type="cuda", dtype=torch.bfloat16)
gen = torch.Generator(device="cuda").manual_seed(7)
batches = [(torch.randint(a.vocab - 63, (a.batch, a.block), device="cuda", generator=gen),
            torch.randint(a.vocab - 63, (a.batch, a.block), device="cuda", generator=gen)) for _ in range(8)]


def step(model, opt, x, y):
    with ctx:
        _, loss = model(x, y)
    loss.backward()
    if a.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), a.grad_clip, foreach=True)
    opt.step()
    opt.zero_grad(set_to_none=True)
    return loss.detach()


def timed(run):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for i in range(a.steps):
        loss = run(i)
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / a.steps, loss.item()


for mode in a.modes.split(","):
    model, opt = build()
    if mode == "eager":
        for i in range(a.warmup): step(model, opt, *batches[i % 8])
        dt, loss = timed(lambda i: step(model, opt, *batches[i % 8]))
    else:
        sx, sy = batches[0][0].clone(), batches[0][1].clone()
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for i in range(3): step(model, opt, sx, sy)
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            static_loss = step(model, opt, sx, sy)

        def replay(i):
            sx.copy_(batches[i % 8][0]); sy.copy_(batches[i % 8][1]); g.replay()
            return static_loss
        for i in range(a.warmup): replay(i)
        dt, loss = timed(replay)
    print(json.dumps({"mode": mode, "ms_per_step": dt * 1000, "tokens_per_second": a.batch * a.block / dt, "loss": loss}), flush=True)
