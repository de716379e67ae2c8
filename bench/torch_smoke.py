"""PyTorch side of `orch doctor --smoke`: the same matmul and SDPA measurements, for a side-by-side ratio.

Usage: python3 bench/torch_smoke.py   (prints one JSON line)
"""
import json
import time

import torch
import torch.nn.functional as F


def sync():
    torch.cuda.synchronize()


def main():
    dev, dt, n = "cuda", torch.bfloat16, 8192
    a = torch.randn(n, n, device=dev, dtype=dt)
    b = torch.randn(n, n, device=dev, dtype=dt)
    for _ in range(3):
        a @ b
    sync()
    reps = 20
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    sync()
    tflops = 2.0 * n ** 3 * reps / (time.perf_counter() - t0) / 1e12

    B, H, T, D = 8, 12, 1024, 64
    q, k, v = (torch.randn(B, H, T, D, device=dev, dtype=dt, requires_grad=True) for _ in range(3))
    F.scaled_dot_product_attention(q, k, v, is_causal=True).sum().backward()
    sync()
    t0 = time.perf_counter()
    for _ in range(10):
        q.grad = None
        F.scaled_dot_product_attention(q, k, v, is_causal=True).sum().backward()
    sync()
    sdpa_ms = (time.perf_counter() - t0) * 1000 / 10
    with torch.no_grad():
        F.scaled_dot_product_attention(q, k, v, is_causal=True)
        sync()
        t0 = time.perf_counter()
        for _ in range(10):
            F.scaled_dot_product_attention(q, k, v, is_causal=True)
        sync()
        fwd_ms = (time.perf_counter() - t0) * 1000 / 10
    print(json.dumps({"torch": torch.__version__, "matmul_tflops": round(tflops, 1), "sdpa_ms": round(sdpa_ms, 3),
                      "sdpa_forward_ms": round(fwd_ms, 3)}))


if __name__ == "__main__":
    main()
