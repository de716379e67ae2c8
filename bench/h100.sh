#!/usr/bin/env bash
# Single-GPU figures (docs/BENCHMARKS.md), each side by side with its peer in the same call:
#   doctor + CUDA smoke vs PyTorch; GPT-2 124M tokens/s vs nanoGPT bench.py (eager and compiled);
#   export -> PyTorch logits; loss parity with nanoGPT train.py on the same Brown token files.
# Run on the GPU machine from the repository root, with .publish/orch.tar.xz (scripts/publish-gpu.sh) and a
# nanoGPT checkout (model.py, bench.py, train.py, configurator.py; not part of this repository) at $NANOGPT_DIR
# whose data/brownbin was made by bench/brown_to_bin.py.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/gpu-env.sh
NG="${NANOGPT_DIR:?set NANOGPT_DIR to a nanoGPT checkout}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; date -u
want() { [[ " ${SECTIONS:-doctor bench export parity} " == *" $1 "* ]]; }   # SECTIONS="parity" runs one part

if want doctor; then echo "== doctor + smoke"; scripts/gpu-doctor.sh; fi
if want bench; then
echo "== orch bench train (GPT-2 124M, bias off as in nanoGPT's bench.py)"
"$ORCH" bench train --model gpt2 --set bias=false --batch 12 --block-size 1024 --device cuda --steps 30 --json
echo "== nanoGPT bench.py eager";   (cd "$NG" && python3 bench.py --real_data=False --compile=False 2>&1 | tail -1)
echo "== nanoGPT bench.py compile"; (cd "$NG" && python3 bench.py --real_data=False --compile=True 2>&1 | tail -1)

fi
if want export; then
echo "== export parity"
T=/tmp/orch-export; rm -rf $T; mkdir -p $T
"$ORCH" train --data "$NG/data/brownbin" --out $T/run --set n_layer=2,n_head=4,n_embd=128,block_size=128,vocab_size=257 \
  --block-size 128 --batch 8 --steps 20 --device cuda --eval-batches 2 --json > $T/train.json || tail -5 $T/train.json
for layout in nanogpt hf; do
  "$ORCH" export --checkpoint $T/run --out $T/$layout.safetensors --layout $layout
done
"$ORCH" sample --checkpoint $T/run --tokens 84,104,101,32,106,117,114,121,32,115,97,105,100 --max-tokens 0 --dump-logits $T/logits.safetensors
python3 bench/check_export.py $T/nanogpt.safetensors $T/logits.safetensors
python3 bench/check_export.py $T/hf.safetensors $T/logits.safetensors --layout hf --hf

fi
if want parity; then
echo "== loss parity on Brown bytes (4 layers, 256 wide, T=256, B=32, 2000 steps, lr 1e-3 -> 1e-4)"
(cd "$NG" && python3 train.py --dataset=brownbin --out_dir=/tmp/ng-brown --eval_interval=2000 --eval_iters=100 \
  --log_interval=500 --block_size=256 --batch_size=32 --n_layer=4 --n_head=4 --n_embd=256 --dropout=0.0 --bias=False \
  --learning_rate=1e-3 --max_iters=2000 --lr_decay_iters=2000 --min_lr=1e-4 --warmup_iters=100 --compile=False \
  --gradient_accumulation_steps=1 --weight_decay=0.1 --grad_clip=1.0 --always_save_checkpoint=False 2>&1 | grep -E "^step|^iter (500|1000|1500|1990)")
"$ORCH" train --data "$NG/data/brownbin" --out /tmp/orch-brown --set n_layer=4,n_head=4,n_embd=256,block_size=256,vocab_size=257,bias=false \
  --block-size 256 --batch 32 --steps 2000 --lr 1e-3 --min-lr 1e-4 --warmup-steps 100 --weight-decay 0.1 --grad-clip 1.0 \
  --device cuda --eval-every 2000 --eval-batches 100 --log-every 500 --json
fi
