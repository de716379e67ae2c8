"""The PyTorch peer of `orch train --nproc P --zero Z` for the data-parallel scaling figures: nanoGPT's GPT-2 124M (model.py,
biases off, tied head) trained for --steps steps on random tokens, on one GPU, with DDP, or with FSDP2 (fully_shard
per block and at the root: ZeRO-3's peer). Same shapes and optimizer as our runs: batch 12 x 1024 per rank, fused
AdamW (lr 6e-4, betas 0.9/0.95, weight decay 0.1 on matrices), global-norm clip 1.0. Precision as PyTorch users run
it: single and DDP keep fp32 parameters under bf16 autocast (nanoGPT's train.py; DDP reduces fp32 gradients);
FSDP2 computes in bf16 with fp32 sharded parameters (MixedPrecisionPolicy param_dtype=bf16, reduce_dtype=bf16, ours).
Prints one JSON line at rank 0: tokens/s over the last 10 steps counted over all ranks (as `orch train` counts
them) and torch.cuda.max_memory_allocated per rank.

  torchrun --standalone --nproc_per_node 2 bench/sharded_torch.py --mode ddp --nanogpt .device/nanogpt
  (--n-layer/--n-head/--n-embd for other shapes: bench/zero3_big.sh)
"""
import argparse, json, os, sys, time
from contextlib import nullcontext

import torch
import torch.distributed as dist

p = argparse.ArgumentParser()
p.add_argument("--mode", choices=["single", "ddp", "fsdp"], required=True)
p.add_argument("--nanogpt", required=True, help="folder with nanoGPT's model.py")
p.add_argument("--steps", type=int, default=50)
p.add_argument("--batch", type=int, default=12)
p.add_argument("--block", type=int, default=1024)
p.add_argument("--n-layer", type=int, default=12)
p.add_argument("--n-head", type=int, default=12)
p.add_argument("--n-embd", type=int, default=768)
a = p.parse_args()
sys.path.insert(0, a.nanogpt)
from model import GPT, GPTConfig  # noqa: E402

world = int(os.environ.get("WORLD_SIZE", "1"))
rank = int(os.environ.get("RANK", "0"))
local = int(os.environ.get("LOCAL_RANK", "0"))
if a.mode != "single":
    dist.init_process_group("nccl", device_id=torch.device("cuda", local))
torch.cuda.set_device(local)
torch.manual_seed(1337)
torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True

model = GPT(GPTConfig(block_size=a.block, vocab_size=50304, n_layer=a.n_layer, n_head=a.n_head, n_embd=a.n_embd,
                    dropout=0.0, bias=False)).cuda()
ctx = torch.autocast("cuda", dtype=torch.bfloat16)
if a.mode == "ddp":
    from torch.nn.parallel import DistributedDataParallel as DDP
    model = DDP(model, device_ids=[local])
elif a.mode == "fsdp":
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard
    mp = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.bfloat16)
    for block in model.transformer.h:
        fully_shard(block, mp_policy=mp)
    fully_shard(model, mp_policy=mp)
    ctx = nullcontext()

params = [q for q in model.parameters() if q.requires_grad]
groups = [{"params": [q for q in params if q.dim() >= 2], "weight_decay": 0.1},
          {"params": [q for q in params if q.dim() < 2], "weight_decay": 0.0}]
try:
    opt = torch.optim.AdamW(groups, lr=6e-4, betas=(0.9, 0.95), fused=True)
    fused = True
except Exception:  # fused AdamW over DTensors where this torch lacks it
    opt = torch.optim.AdamW(groups, lr=6e-4, betas=(0.9, 0.95))
    fused = False

g = torch.Generator(device="cuda").manual_seed(rank)
x = torch.randint(50257, (a.batch, a.block), device="cuda", generator=g)
y = torch.randint(50257, (a.batch, a.block), device="cuda", generator=g)
marks = {}
for step in range(1, a.steps + 1):
    with ctx:
        _, loss = model(x, y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    if step in (a.steps - 10, a.steps):
        torch.cuda.synchronize()
        marks[step] = time.perf_counter()
dt = marks[a.steps] - marks[a.steps - 10]
peak = torch.tensor([torch.cuda.max_memory_allocated() / 2**20], device="cuda")
peaks = [peak.clone() for _ in range(world)]
if world > 1:
    dist.all_gather(peaks, peak)
if rank == 0:
    print(json.dumps({"mode": a.mode, "world_size": world, "parameters": sum(q.numel() for q in params), "fused_adamw": fused, "loss": loss.item(),
                      "tokens_per_second": 10 * a.batch * a.block * world / dt, "ms_per_step": dt / 10 * 1000,
                      "max_memory_allocated_mib": [round(t.item()) for t in peaks]}))
if world > 1:
    dist.destroy_process_group()
