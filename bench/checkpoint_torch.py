"""PyTorch's checkpoint writes of the same training state as `orch train` checkpoints (the peer in checkpoint_bench.sh).

The state is a GPT-2-shaped model's fp32 parameters (biases and the padded vocabulary as orch's model has them) and
its AdamW moments after one fused AdamW step on the GPU: 12 bytes per parameter, as an orch checkpoint. Written
three ways, each to a fresh folder under OUT that is removed after it is timed (disk space):
  torch.save   the whole state_dict from the GPU to one file, fsynced: the training loop is blocked for all of it;
  dcp.save     torch.distributed.checkpoint, synchronous (FileSystemWriter syncs its files);
  async_save   torch.distributed.checkpoint.async_save: blocked while it stages the state to host memory, then the
               write runs in a background thread (blocked and write times reported separately).
Usage: python3 bench/checkpoint_torch.py gpt2|gpt2-medium|gpt2-large|gpt2-xl OUT
Prints one JSON line: {"model", "parameters", "bytes", "torch_save_ms", "dcp_save_ms", "async_blocked_ms", "async_write_ms"}.
"""
import json, os, shutil, socket, sys, time
import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp

SHAPES = {"gpt2": (12, 768), "gpt2-medium": (24, 1024), "gpt2-large": (36, 1280), "gpt2-xl": (48, 1600)}
name, out = sys.argv[1], sys.argv[2]
layers, d = SHAPES[name]
vocab, block = 50304, 1024  # GPT-2's 50257 padded to a multiple of 64, as orch pads it

shapes = {"wte.weight": (vocab, d), "wpe.weight": (block, d), "ln_f.weight": (d,), "ln_f.bias": (d,)}
for i in range(layers):
    for k, s in {"ln_1.weight": (d,), "ln_1.bias": (d,), "attn.c_attn.weight": (3 * d, d), "attn.c_attn.bias": (3 * d,),
                 "attn.c_proj.weight": (d, d), "attn.c_proj.bias": (d,), "ln_2.weight": (d,), "ln_2.bias": (d,),
                 "mlp.c_fc.weight": (4 * d, d), "mlp.c_fc.bias": (4 * d,), "mlp.c_proj.weight": (d, 4 * d), "mlp.c_proj.bias": (d,)}.items():
        shapes[f"h.{i}.{k}"] = s
torch.manual_seed(0)
params = {k: torch.nn.Parameter(torch.randn(s, device="cuda") * 0.02) for k, s in shapes.items()}
opt = torch.optim.AdamW(params.values(), lr=6e-4, weight_decay=0.1, fused=True)
for p in params.values():
    p.grad = torch.randn_like(p) * 1e-3
opt.step()
# String-keyed tensors only (the moments by parameter name), which torch.save and DCP both take as they are.
state = {"model": {k: p.detach() for k, p in params.items()},
         "exp_avg": {k: opt.state[p]["exp_avg"] for k, p in params.items()},
         "exp_avg_sq": {k: opt.state[p]["exp_avg_sq"] for k, p in params.items()}}
n = sum(p.numel() for p in params.values())
nbytes = 12 * n
torch.cuda.synchronize()

def fresh(tag):
    path = os.path.join(out, tag)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path

result = {"model": name, "parameters": n, "bytes": nbytes}
path = fresh("torch_save")
t0 = time.perf_counter()
with open(os.path.join(path, "ckpt.pt"), "wb") as f:
    torch.save(state, f)
    f.flush()
    os.fsync(f.fileno())
result["torch_save_ms"] = (time.perf_counter() - t0) * 1000
shutil.rmtree(path)

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
dist.init_process_group("cpu:gloo,cuda:nccl", init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1)
try:
    path = fresh("dcp_save")
    t0 = time.perf_counter()
    dcp.save(state, checkpoint_id=path)
    result["dcp_save_ms"] = (time.perf_counter() - t0) * 1000
    shutil.rmtree(path)
    path = fresh("dcp_async")
    t0 = time.perf_counter()
    future = dcp.async_save(state, checkpoint_id=path)
    t1 = time.perf_counter()
    future.result()
    result["async_blocked_ms"] = (t1 - t0) * 1000
    result["async_write_ms"] = (time.perf_counter() - t1) * 1000
    shutil.rmtree(path)
except Exception as e:  # an older PyTorch without async_save: say so, keep the other figures
    result["dcp_error"] = f"{type(e).__name__}: {e}"
finally:
    dist.destroy_process_group()
print(json.dumps(result))
