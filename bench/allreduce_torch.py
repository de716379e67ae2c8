#!/usr/bin/env python3
"""All-reduce bus bandwidth through torch.distributed, the reference for `orch bench comm`.

Same sweep and definitions as `orch bench comm` (nccl-tests all_reduce_perf style): sizes doubling from
--min to --max, --warmup untimed then --iters timed in-place sum all-reduces queued back to back, one
synchronize, mean time averaged over ranks; algbw = bytes / time, busbw = algbw * 2(n-1)/n, GB/s = 1e9 B/s.

    torchrun --standalone --nproc_per_node 2 bench/allreduce_torch.py --min 1M --max 1G --json
    (side by side: ./orch bench comm --backend nccl --nproc 2 --min 1M --max 1G --json)
"""
import argparse
import json
import os
import time

import torch
import torch.distributed as dist


def parse_size(text: str) -> int:
    s = text.strip().upper().removesuffix("B")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(s[-1:], 1)
    return int(s[:-1] if mult > 1 else s) * mult


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--min", default="1M")
    ap.add_argument("--max", default="1G")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    ap.add_argument("--backend", choices=["nccl", "gloo"], default="nccl")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()

    dist.init_process_group(a.backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    cuda = a.backend == "nccl"
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    device = torch.device("cuda") if cuda else torch.device("cpu")
    dtype = torch.bfloat16 if a.dtype == "bfloat16" else torch.float32
    es = 2 if dtype == torch.bfloat16 else 4

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    results = []
    if rank == 0 and not a.json:
        print(f"# all-reduce, torch.distributed {a.backend}, {world} ranks, {a.dtype}, in place, sum; busbw = algbw x 2(n-1)/n")
        print(f"{'bytes':>14} {'elements':>12} {'time(us)':>12} {'algbw(GB/s)':>12} {'busbw(GB/s)':>12}")
    size = parse_size(a.min)
    while size <= parse_size(a.max):
        n = size // es
        t = torch.ones(n, dtype=dtype, device=device)
        for _ in range(a.warmup):
            dist.all_reduce(t)
        sync()
        dist.barrier()
        start = time.perf_counter()
        for _ in range(a.iters):
            dist.all_reduce(t)
        sync()
        us = (time.perf_counter() - start) * 1e6 / a.iters
        mean = torch.tensor([us], device=device)
        dist.all_reduce(mean)
        us = mean.item() / world
        algbw = n * es / (us * 1e-6) / 1e9
        busbw = 0.0 if world == 1 else algbw * 2 * (world - 1) / world
        results.append({"bytes": n * es, "elements": n, "time_us": us, "algbw_gbps": algbw, "busbw_gbps": busbw})
        if rank == 0 and not a.json:
            print(f"{n * es:>14} {n:>12} {us:>12.1f} {algbw:>12.2f} {busbw:>12.2f}")
        del t
        size *= 2
    if rank == 0 and a.json:
        print(json.dumps({"backend": f"torch.distributed/{a.backend}", "world_size": world, "dtype": a.dtype,
                          "definition": "busbw = algbw * 2(n-1)/n; GB/s = 1e9 B/s", "results": results}, indent=2))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
