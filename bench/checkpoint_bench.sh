#!/usr/bin/env bash
# Checkpoint cost on one GPU, orch against PyTorch in the same call, for GPT-2 124M and GPT-2 XL (1.5B) by default
# (MODELS="gpt2 gpt2-medium ..." to choose). orch: each checkpoint's time the training loop was blocked (waiting for
# the previous write + the device-to-host snapshot), its background write time (shard, SHA-256, commit) and GB/s,
# the checkpoint's size on disk and the resume's read-and-apply time. PyTorch (bench/checkpoint_torch.py, the same
# 12 bytes/parameter of fp32 weights and AdamW moments): torch.save (blocking), DCP save, DCP async_save (blocked,
# write). Each model trains STEPS steps on random GPT-2-vocabulary tokens (nanoGPT's .bin format, written here),
# checkpointing every EVERY steps plus the final one, keeping one; then it resumes for one more step. The defaults
# (200/100 steps at batch 8; 400/200 at batch 4 for gpt2-large and gpt2-xl) leave each write time to finish before
# the next checkpoint, so a checkpoint's wait for the previous one is 0 unless the disk is slower than about 1 GB/s.
# Run from the repository root with .publish/orch.tar.xz carried (scripts/publish-gpu.sh), as
# bench/train_throughput.sh. WORK (default a temp folder) needs about 2.5x the largest checkpoint free (1.5B: 19 GB).
# Output per model:
#   model gpt2: 124.44M params, state 1.49 GB, checkpoint 1.49 GB on disk, resume load 567 ms
#     orch step 20: blocked 210 ms (0 waiting), write 1530 ms (0.98 GB/s)
#     ...
#     torch.save 2300 ms blocked (0.65 GB/s); dcp.save 2100 ms; dcp.async_save blocked 450 ms, write 1700 ms
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/gpu-env.sh
export CUDA_VISIBLE_DEVICES="${CUDA_VISIBLE_DEVICES:-0}"
MODELS="${MODELS:-gpt2 gpt2-xl}"
WORK="${WORK:-$(mktemp -d)}"
trap 'rm -rf "$WORK"' EXIT
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader -i 0; date -u; df -h "$WORK" | tail -1
"${PYTHON:-python3}" - "$WORK/data" <<'PYEOF'
import array, json, os, random, sys
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = random.Random(0)
for split, n in (("train", 4_000_000), ("val", 400_000)):
    array.array("H", (rng.randrange(50257) for _ in range(n))).tofile(open(os.path.join(out, split + ".bin"), "wb"))
json.dump({"vocab_size": 50257}, open(os.path.join(out, "meta.json"), "w"))
PYEOF
for model in $MODELS; do
  run="$WORK/$model"
  batch=8 steps="${STEPS:-200}" every="${EVERY:-100}"
  [[ "$model" == gpt2-large || "$model" == gpt2-xl ]] && batch=4 steps="${STEPS:-400}" every="${EVERY:-200}"
  common=(--data "$WORK/data" --out "$run" --model "$model" --batch "$batch" --block-size 1024 --device cuda --eval-batches 1 --log-every 10 --json)
  first="$("$ORCH" train "${common[@]}" --steps "$steps" --checkpoint-every "$every" --keep 1 2>"$WORK/$model.err")" \
    || { cat "$WORK/$model.err" >&2; exit 1; }
  again="$("$ORCH" train "${common[@]}" --steps "$((steps + 1))" --resume 2>>"$WORK/$model.err")" \
    || { cat "$WORK/$model.err" >&2; exit 1; }
  ckpt="$(python3 -c 'import json,sys; t=sys.stdin.read(); print(json.loads(t[t.index("{"):])["checkpoint"])' <<<"$first")"
  bytes="$(du -sb "$ckpt" | cut -f1)"
  rm -rf "$run"
  torch="$("${PYTHON:-python3}" bench/checkpoint_torch.py "$model" "$WORK/torch" 2>"$WORK/$model.torch.err")" \
    || { cat "$WORK/$model.torch.err" >&2; torch='{}'; }
  rm -rf "$WORK/torch"
  python3 - "$model" "$bytes" "$first" "$again" "$torch" <<'PYEOF'
import json, sys
model, on_disk = sys.argv[1], int(sys.argv[2])
doc = lambda t: json.loads(t[t.index("{"):])
first, again, torch = doc(sys.argv[3]), doc(sys.argv[4]), json.loads(sys.argv[5])
cks = first["checkpoints"]
state = max(c["bytes"] for c in cks)
print(f"model {model}: {first['parameters'] / 1e6:.2f}M params, state {state / 1e9:.2f} GB, checkpoint {on_disk / 1e9:.2f} GB on disk, "
      f"resume load {again['checkpoint_load_ms']:.0f} ms")
for c in cks:
    rate = c["bytes"] / c["write_ms"] / 1e6 if c["write_ms"] > 0 else 0
    print(f"  orch step {c['step']}: blocked {c['blocked_ms']:.0f} ms ({c['wait_ms']:.0f} waiting), write {c['write_ms']:.0f} ms ({rate:.2f} GB/s)")
print(f"  orch totals: blocked {first['checkpoint_blocked_ms']:.0f} ms, background write {first['checkpoint_write_ms']:.0f} ms, "
      f"end of run waited {first['checkpoint_final_wait_ms']:.0f} ms for the last commit")
if "torch_save_ms" in torch:
    b = torch["bytes"]
    line = f"  torch ({b / 1e9:.2f} GB): torch.save {torch['torch_save_ms']:.0f} ms blocked ({b / torch['torch_save_ms'] / 1e6:.2f} GB/s)"
    if "dcp_save_ms" in torch:
        line += (f"; dcp.save {torch['dcp_save_ms']:.0f} ms ({b / torch['dcp_save_ms'] / 1e6:.2f} GB/s); dcp.async_save blocked "
                 f"{torch['async_blocked_ms']:.0f} ms, write {torch['async_write_ms']:.0f} ms")
    else:
        line += f"; DCP: {torch.get('dcp_error')}"
    print(line)
else:
    print("  torch: failed (see the error above)")
PYEOF
done
