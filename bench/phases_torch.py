"""Per-phase GPU and host time of nanoGPT's training step (the peer of `orch bench train --profile`).

Same phases and the same method as ours: CUDA events on the compute stream at the end of each phase, host clock
beside them, one sync at the end. nanoGPT's bench.py setting: GPT-2 124M without bias, batch 12 x 1024 synthetic
tokens, bf16 autocast, fused AdamW, no clipping (pass --grad-clip 1 for train.py's clip). The model comes from a
nanoGPT checkout (model.py) at NANOGPT_DIR; nothing of it is copied here.
"""
import argparse, os, sys, time
import torch

p = argparse.ArgumentParser()
p.add_argument("--batch", type=int, default=12)
p.add_argument("--block", type=int, default=1024)
p.add_argument("--steps", type=int, default=30)
p.add_argument("--warmup", type=int, default=5)
p.add_argument("--grad-clip", type=float, default=0.0)
a = p.parse_args()
sys.path.insert(0, os.environ["NANOGPT_DIR"])
from model import GPT, GPTConfig  # noqa: E402

torch.manual_seed(1337)
torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True
model = GPT(GPTConfig(block_size=a.block, n_layer=12, n_head=12, n_embd=768, dropout=0.0, bias=False)).cuda()
opt = model.configure_optimizers(weight_decay=1e-2, learning_rate=1e-4, betas=(0.9, 0.95), device_type="cuda")
ctx = torch.amp.autocast(device_type="cuda", dtype=torch.bfloat16)
x = torch.randint(50304, (a.batch, a.block), device="cuda")
y = torch.randint(50304, (a.batch, a.block), device="cuda")

marks = []
def mark(phase):
    e = torch.cuda.Event(enable_timing=True); e.record(); marks.append((phase, e, time.perf_counter()))

def step(profile):
    if profile: mark("between steps" if marks else "")
    with ctx:
        logits, _ = model(x, y)  # nanoGPT computes the loss inside forward when targets are given
        if profile: mark("forward+loss")
    loss = _
    loss.backward()
    if profile: mark("backward")
    if a.grad_clip > 0: torch.nn.utils.clip_grad_norm_(model.parameters(), a.grad_clip)
    opt.step()
    opt.zero_grad(set_to_none=True)
    if profile: mark("optimizer")
    return loss

for _ in range(a.warmup): step(False)
torch.cuda.synchronize()
t0 = time.perf_counter()
for _ in range(a.steps): loss = step(True)
torch.cuda.synchronize()
dt = (time.perf_counter() - t0) / a.steps
print(f"nanoGPT step: {dt*1000:.2f} ms/step, {a.batch*a.block/dt:,.0f} tokens/s, loss {loss.item():.4f}, "
      f"peak memory allocated {torch.cuda.max_memory_allocated()/2**20:,.0f} MiB")
gpu, host, order = {}, {}, []
for i in range(1, len(marks)):
    ph, e, t = marks[i]
    if ph not in gpu: order.append(ph); gpu[ph] = 0.0; host[ph] = 0.0
    gpu[ph] += marks[i - 1][1].elapsed_time(e); host[ph] += (t - marks[i - 1][2]) * 1000
for ph in order:
    print(f"  {ph:<44} GPU {gpu[ph]/a.steps:8.2f} ms   host {host[ph]/a.steps:8.2f} ms")
