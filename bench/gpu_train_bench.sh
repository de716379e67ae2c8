#!/usr/bin/env bash
# Training throughput on one GPU, ours and nanoGPT's bench.py side by side in one call (docs/benchmarks/model.md).
#
#   ORCH=path/to/self-contained/orch  ORCH_LIBTORCH=$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')/lib \
#   NANOGPT_DIR=path/to/a/nanoGPT/checkout (bench.py + model.py; not in this repository)  bench/gpu_train_bench.sh
#
# Same setting as nanoGPT's bench.py: GPT-2 124M shape, batch 12, block 1024, bf16, synthetic tokens, bias off
# (bench.py's default), fused AdamW. Prints one JSON line per measurement.
set -euo pipefail
ORCH="${ORCH:-./orch}"
PY="${PYTHON:-python3}"   # the Python that has PyTorch
STEPS="${STEPS:-50}"

echo "== orch bench train (bias off, as bench.py) ==" >&2
"$ORCH" bench train --model gpt2 --set bias=false --batch 12 --block-size 1024 --device cuda --steps "$STEPS" --warmup-steps 10 --json
echo "== orch bench train (GPT-2 with biases) ==" >&2
"$ORCH" bench train --model gpt2 --batch 12 --block-size 1024 --device cuda --steps "$STEPS" --warmup-steps 10 --json
echo "== orch bench train, element-wise AdamW (fused kernel off) ==" >&2
ORCH_ADAMW=unfused "$ORCH" bench train --model gpt2 --set bias=false --batch 12 --block-size 1024 --device cuda --steps "$STEPS" --warmup-steps 10 --json

if [[ -n "${NANOGPT_DIR:-}" ]]; then
  cd "$NANOGPT_DIR"
  for compile in False True; do
    echo "== nanoGPT bench.py compile=$compile ==" >&2
    "$PY" bench.py --real_data=False --compile=$compile --profile=False --batch_size=12 --block_size=1024 2>&1 | tail -3
  done
fi
