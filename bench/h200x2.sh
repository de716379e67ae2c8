#!/usr/bin/env bash
# Two-GPU figures (docs/BENCHMARKS.md), side by side with torch.distributed in the same call: all-reduce bus bandwidth
# 1 MB-1 GB through our NCCL bindings vs torch.distributed; GPT-2 124M tokens/s at 1 and 2 GPUs for DDP and
# ZeRO-1/2/3 with the peak GPU memory per rank (nvidia-smi sampled every 100 ms).
# Run on nvidia-h200-x2 from the repository root with .publish/orch.tar.xz carried; NPROC=4 or 8 on larger machines.
# Knobs: SKIP_COMM, SKIP_TRAIN, STAGES="0 3", ROUNDS=N (repeat the training runs), ZERO3_RECOMPUTE=1, TORCH_PEER=1, MEMORY=1,
# MEMORY_STAGES="3", BATCH/BLOCK/STEPS.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/gpu-env.sh
nvidia-smi --query-gpu=name --format=csv,noheader; date -u
OUTDIR="${OUT:-/tmp/orch-bench}"; mkdir -p "$OUTDIR"
NP="${NPROC:-2}"

if [[ -z "${SKIP_COMM:-}" ]]; then
echo "== all-reduce fp32: orch (our NCCL bindings)"
"$ORCH" bench comm --backend nccl --nproc "$NP" --min 1M --max 1G --iters 20 --warmup-iters 5 --json > "$OUTDIR/comm_orch.json"
echo "== all-reduce fp32: torch.distributed"
"${PYTHON:-python3}" -m torch.distributed.run --standalone --nproc_per_node "$NP" bench/allreduce_torch.py --min-bytes 1M --max-bytes 1G \
  --iters 20 --warmup 5 --json > "$OUTDIR/comm_torch.json" 2> "$OUTDIR/comm_torch.err"
python3 - "$OUTDIR/comm_orch.json" "$OUTDIR/comm_torch.json" <<'PY'
import json, sys
def load(p):
    text = open(p).read(); text = text[text.index("{"):]
    return {r["bytes"]: r["busbw_gbps"] for r in json.loads(text)["results"]}
o, t = load(sys.argv[1]), load(sys.argv[2])
print("bytes,orch_busbw_gbps,torch_busbw_gbps,ratio")
for b in sorted(o):
    if b in t: print(f"{b},{o[b]:.1f},{t[b]:.1f},{o[b]/t[b]:.3f}")
PY
fi

rm -rf /tmp/synthetic; "$ORCH" bench data generate --out /tmp/synthetic --tokens 20000000 > /dev/null
run() { # name, args...
  local name=$1; shift
  rm -rf "/tmp/run-$name" # a repeated round starts afresh (train refuses an --out that holds checkpoints)
  nvidia-smi --query-gpu=index,memory.used --format=csv,noheader,nounits -lms 100 > "$OUTDIR/mem_$name.csv" &
  local smi=$!
  "$ORCH" train --data /tmp/synthetic --out "/tmp/run-$name" --model gpt2 --set bias=false --device cuda --batch "${BATCH:-12}" --block-size "${BLOCK:-1024}" \
    --steps "${STEPS:-50}" --log-every 10 --eval-batches 0 --warmup-steps 10 --json "$@" > "$OUTDIR/train_$name.json" 2> "$OUTDIR/train_$name.err"
  local rc=$?
  kill $smi 2>/dev/null
  grep -h -m2 -E "warning|error" "$OUTDIR/train_$name.err" || true
  python3 - "$name" "$rc" "$OUTDIR/train_$name.json" "$OUTDIR/mem_$name.csv" <<'PY'
import json, sys
name, rc, path, mem = sys.argv[1:5]
try:
    text = open(path).read(); d = json.loads(text[text.index("{"):])
    tps, ws, ms = d.get("tokens_per_second"), d.get("world_size"), d.get("model_state_mib")
except Exception as e:
    tps, ws, ms = None, f"failed rc={rc}", None
peak = {}
for line in open(mem):
    i, m = [x.strip() for x in line.split(",")]
    peak[i] = max(peak.get(i, 0), int(m))
print(f"{name}: world={ws} tokens_per_second={tps} peak_mem_mib={peak}" + (f" model_state_mib={ms:.1f}" if ms is not None else ""))
PY
}
# The PyTorch peer (TORCH_PEER=1; needs nanoGPT's model.py in $NANOGPT_DIR, default .device/nanogpt): the same model, shapes and
# optimizer on 1 GPU, with DDP and with FSDP2 (ZeRO-3's peer), one JSON line each (bench/sharded_torch.py).
peer() { # mode
  local mode=$1
  if [[ $mode == single ]]; then
    "${PYTHON:-python3}" bench/sharded_torch.py --mode single --nanogpt "${NANOGPT_DIR:-.device/nanogpt}" 2> "$OUTDIR/torch_$mode.err" | sed "s/^/torch-$mode: /"
  else
    "${PYTHON:-python3}" -m torch.distributed.run --standalone --nproc_per_node "$NP" bench/sharded_torch.py --mode "$mode" --nanogpt "${NANOGPT_DIR:-.device/nanogpt}" \
      2> "$OUTDIR/torch_$mode.err" | sed "s/^/torch-${NP}gpu-$mode: /"
  fi
  grep -h -m2 -E "Error|error" "$OUTDIR/torch_$mode.err" || true
}

if [[ -z "${SKIP_TRAIN:-}" ]]; then
  for round in $(seq 1 "${ROUNDS:-1}"); do
    run 1gpu
    for z in ${STAGES:-0 1 2 3}; do run ${NP}gpu-zero$z --nproc "$NP" --backend nccl --zero $z; done
    # ZERO3_RECOMPUTE=1: ZeRO-3 again the way it ran before it could free storage in place (FSDP + activation checkpointing).
    if [[ -n "${ZERO3_RECOMPUTE:-}" ]]; then ORCH_ZERO3=recompute run ${NP}gpu-zero3-recompute --nproc "$NP" --backend nccl --zero 3; fi
    if [[ -n "${TORCH_PEER:-}" ]]; then peer single; peer ddp; peer fsdp; fi
  done
fi

# Model-state memory per ZeRO stage (MEMORY=1): a tiny batch (1 x 64 tokens), libtorch's caching allocator off so
# the driver's count is what is allocated, and ORCH_MEMORY_PROBE=1: each rank reports the memory in use after the
# last backward (parameters, gradients, optimizer state) minus what it used before the model existed.
if [[ -n "${MEMORY:-}" ]]; then
  export BATCH=1 BLOCK=64 STEPS=10 PYTORCH_NO_CUDA_MEMORY_CACHING=1 ORCH_MEMORY_PROBE=1
  run mem-1gpu
  for z in ${MEMORY_STAGES:-0 1 2 3}; do run mem-${NP}gpu-zero$z --nproc "$NP" --backend nccl --zero $z; done
fi
