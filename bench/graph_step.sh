#!/usr/bin/env bash
# The captured training step against PyTorch's, side by side in one call on one GPU: for each sweep-sized shape
# (batch 32 x 256, byte vocabulary padded to 320, bf16, fused AdamW, clip 1.0), `orch bench train` eager and with
# --cuda-graphs on, and bench/graph_step_torch.py (nanoGPT's model.py) eager and with the whole step in one
# torch.cuda.CUDAGraph; then GPT-2 124M at batch 12 x 1024 with graphs off and auto (it must not get slower).
# Run from the repository root with .publish/orch.tar.xz carried and NANOGPT_DIR set to a nanoGPT checkout
# (model.py; not part of this repository). SHAPES overrides the shape list ("layers:heads:width ...").
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/gpu-env.sh
: "${NANOGPT_DIR:?set NANOGPT_DIR to a nanoGPT checkout}"
export CUDA_VISIBLE_DEVICES="${CUDA_VISIBLE_DEVICES:-0}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader -i 0; date -u
STEPS="${STEPS:-300}"
pick() { python3 -c 'import json,sys; t=sys.stdin.read(); d=json.loads(t[t.index("{"):]); print(json.dumps({k: d[k] for k in ("ms_per_step","tokens_per_second","mfu","loss","cuda_graphs")}))'; }
for shape in ${SHAPES:-3:3:192 6:6:384}; do
  IFS=: read -r L H C <<<"$shape"
  for round in $(seq 1 "${ROUNDS:-2}"); do
    for g in off on; do
      echo "== ${L}x${C} round $round orch --cuda-graphs $g"
      "$ORCH" bench train --model gpt2 --set "n_layer=$L,n_head=$H,n_embd=$C,block_size=256,vocab_size=257,bias=false" \
        --batch 32 --block-size 256 --device cuda --warmup-steps 20 --steps "$STEPS" --cuda-graphs "$g" --json | pick
    done
    echo "== ${L}x${C} round $round torch eager,graph"
    python3 bench/graph_step_torch.py --n-layer "$L" --n-head "$H" --n-embd "$C" --steps "$STEPS"
  done
done
for g in off auto; do
  echo "== gpt2 124M 12x1024 orch --cuda-graphs $g"
  "$ORCH" bench train --model gpt2 --set bias=false --batch 12 --block-size 1024 --device cuda --warmup-steps 10 --steps 50 --cuda-graphs "$g" --json | pick
done
