#!/usr/bin/env bash
# Checkpoint size and cost on one GPU, for GPT-2 124M and GPT-2 medium (350M): how long a checkpoint write blocks
# the training loop (`checkpoint_blocked_ms` / `checkpoint_writes` of `orch train --json`), how many bytes the
# checkpoint folder holds on disk, and how long a resume takes to read and apply it (`checkpoint_load_ms`).
# Each model trains STEPS steps (default 20) on random GPT-2-vocabulary tokens (nanoGPT's .bin format, written
# here), checkpointing every EVERY steps (default 10) plus the final one; then it resumes for one more step.
# Run from the repository root with .publish/orch.tar.xz carried (scripts/publish-gpu.sh), as bench/train_throughput.sh.
# Output: one line per model,
#   model gpt2: 124.44M params, 2 writes, blocked 1234 ms/write, checkpoint 1.49 GB on disk, resume load 567 ms
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/gpu-env.sh
export CUDA_VISIBLE_DEVICES="${CUDA_VISIBLE_DEVICES:-0}"
STEPS="${STEPS:-20}"
EVERY="${EVERY:-10}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader -i 0; date -u
"${PYTHON:-python3}" - "$WORK/data" <<'PYEOF'
import array, json, os, random, sys
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = random.Random(0)
for split, n in (("train", 4_000_000), ("val", 400_000)):
    array.array("H", (rng.randrange(50257) for _ in range(n))).tofile(open(os.path.join(out, split + ".bin"), "wb"))
json.dump({"vocab_size": 50257}, open(os.path.join(out, "meta.json"), "w"))
PYEOF
field() { python3 -c 'import json,sys; t=sys.stdin.read(); d=json.loads(t[t.index("{"):]); print(d[sys.argv[1]])' "$1"; }
for model in gpt2 gpt2-medium; do
  run="$WORK/$model"
  common=(--data "$WORK/data" --out "$run" --model "$model" --batch 8 --block 1024 --device cuda --eval-batches 1 --log-every 10 --json)
  first="$("$ORCH" train "${common[@]}" --steps "$STEPS" --checkpoint-every "$EVERY" --keep 10 2>"$WORK/$model.err")" \
    || { cat "$WORK/$model.err" >&2; exit 1; }
  writes="$(field checkpoint_writes <<<"$first")"
  blocked="$(field checkpoint_blocked_ms <<<"$first")"
  params="$(field parameters <<<"$first")"
  ckpt="$(field checkpoint <<<"$first")"
  bytes="$(du -sb "$ckpt" | cut -f1)"
  again="$("$ORCH" train "${common[@]}" --steps "$((STEPS + 1))" --resume 2>>"$WORK/$model.err")" \
    || { cat "$WORK/$model.err" >&2; exit 1; }
  load="$(field checkpoint_load_ms <<<"$again")"
  python3 - "$model" "$params" "$writes" "$blocked" "$bytes" "$load" <<'PYEOF'
import sys
m, p, w, b, by, l = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
print(f"model {m}: {p / 1e6:.2f}M params, {w} writes, blocked {b / max(w, 1):.0f} ms/write, "
      f"checkpoint {by / 1e9:.2f} GB on disk, resume load {l:.0f} ms")
PYEOF
done
