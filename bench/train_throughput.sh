#!/usr/bin/env bash
# The GPT-2 124M throughput figure, side by side in one call on one GPU: `orch bench train` vs nanoGPT's bench.py
# (eager and torch.compile) in bench.py's setting (GPT-2 124M without bias, batch 12 x 1024 synthetic tokens,
# bf16, fused AdamW, no clipping), interleaved so drift hits both; then our step with train.py's clip (1.0); then
# where the time goes: per-phase GPU/host time of our step (`--profile`) and of nanoGPT's (bench/phases_torch.py).
# Run from the repository root with .publish/orch.tar.xz carried and NANOGPT_DIR (bench.py, model.py,
# configurator.py of a nanoGPT checkout; not part of this repository).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/gpu-env.sh
NG="${NANOGPT_DIR:?set NANOGPT_DIR to a nanoGPT checkout}"
export CUDA_VISIBLE_DEVICES="${CUDA_VISIBLE_DEVICES:-0}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader -i 0; date -u
ours() { "$ORCH" bench train --model gpt2 --set bias=false --batch 12 --block-size 1024 --device cuda --warmup-steps 10 "$@"; }
for round in 1 2; do
  echo "== round $round: orch bench train --grad-clip 0"; ours --grad-clip 0 --steps 50 --json | python3 -c 'import json,sys; t=sys.stdin.read(); d=json.loads(t[t.index("{"):]); print({k: d[k] for k in ("tokens_per_second","ms_per_step","mfu","gpu_memory_used_mb")})'
  echo "== round $round: nanoGPT bench.py eager"; (cd "$NG" && python3 bench.py --real_data=False --compile=False 2>&1 | tail -1)
done
echo "== nanoGPT bench.py compile"; (cd "$NG" && python3 bench.py --real_data=False --compile=True 2>&1 | tail -1)
echo "== orch bench train --grad-clip 1 (train.py's clip)"; ours --grad-clip 1 --steps 50 | head -1
echo "== orch phases (--grad-clip 0)"; ours --grad-clip 0 --steps 30 --profile
echo "== nanoGPT phases (same method)"; NANOGPT_DIR="$NG" python3 bench/phases_torch.py --steps 30
