#!/usr/bin/env bash
# μTransfer on one GPU in one call: an LR sweep at several widths (fixed depth, 64-wide heads) under SP and under μP
# (base width = the narrowest), each point an `orch train` run on Brown (bytes, block 256, carried as
# .data/brown/raw) with the final validation loss. Prints, per parametrization, the table width x lr -> final val
# loss, the best LR per width and how far the best LR moves across widths (in steps of the LR grid, x2 by default).
# Under SP the best LR falls as the width grows; under μP it stays put. Runs PARALLEL trainings at once on the device, widest
# first; a run still waiting when BUDGET_S has passed is skipped (printed as "skip"), so the call ends in time.
# Usage: bench/mup_lr_transfer.sh            (env: WIDTHS, LRS, LAYERS, STEPS, BATCH, PARALLEL, BUDGET_S, DEVICE, OUT)
# On a machine without a carried publish, ORCH may name an orch command instead (DEVICE=cpu for a tiny local check).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
WIDTHS="${WIDTHS:-128 256 512 1024}"
LRS="${LRS:-0.000244 0.000488 0.000977 0.00195 0.00391 0.00781 0.0156 0.0313}"   # 2^-12 .. 2^-5
LAYERS="${LAYERS:-4}" STEPS="${STEPS:-250}" BATCH="${BATCH:-32}" PARALLEL="${PARALLEL:-6}" BUDGET_S="${BUDGET_S:-360}"
DEVICE="${DEVICE:-cuda}" HEAD="${HEAD:-64}"
[[ -n "${ORCH:-}" ]] || source scripts/gpu-env.sh
OUTDIR="${OUT:-/tmp/orch-mup}"; mkdir -p "$OUTDIR/runs"
BASE=$(tr ' ' '\n' <<< "$WIDTHS" | sort -n | head -1)
CORPUS="$OUTDIR/brown256"
[[ -f "$CORPUS/manifest.json" ]] || $ORCH data prepare --input .data/brown/raw --out "$CORPUS" --tokenizer bytes --block-size 256 --json > "$OUTDIR/prepare.json" \
  || { echo "preparing Brown failed: see $OUTDIR/prepare.json" >&2; exit 1; }
export ORCH CORPUS OUTDIR LAYERS STEPS BATCH DEVICE HEAD BASE BUDGET_S
export START_EPOCH=$(date +%s)

# One run: $1 = parametrization, $2 = width, $3 = lr; writes runs/P-wW-lrLR.json (orch train --json) or .skip.
run_one() {
  local p=$1 w=$2 lr=$3 name="$OUTDIR/runs/$1-w$2-lr$3"
  if (( $(date +%s) - START_EPOCH > BUDGET_S )); then touch "$name.skip"; return 0; fi
  local heads=$(( w / HEAD > 0 ? w / HEAD : 1 )) extra=()
  [[ $p == mup ]] && extra=(--parametrization mup --base-width "$BASE")
  $ORCH train --data "$CORPUS" --out "$name.run" --set "n_layer=$LAYERS,n_head=$heads,n_embd=$w,block_size=256" "${extra[@]}" \
    --steps "$STEPS" --batch "$BATCH" --block-size 256 --lr "$lr" --warmup-steps $(( STEPS / 10 )) --device "$DEVICE" \
    --no-checkpoint --eval-batches 20 --log-every 50 --json > "$name.json" 2> "$name.log" \
    || { grep -qi diverge "$name.log" && echo '{"diverged": true}' > "$name.json" || echo '{"failed": true}' > "$name.json"; }
}
export -f run_one
for w in $(tr ' ' '\n' <<< "$WIDTHS" | sort -rn); do for lr in $LRS; do for p in sp mup; do echo "$p $w $lr"; done; done; done \
  | xargs -P "$PARALLEL" -L 1 bash -c 'run_one "$@"' _
echo "wall time $(( $(date +%s) - START_EPOCH )) s for the runs ($PARALLEL at once on $DEVICE)"

python3 - "$OUTDIR" "$WIDTHS" "$LRS" <<'PY'
import json, math, os, sys
out, widths, lrs = sys.argv[1], [int(w) for w in sys.argv[2].split()], sys.argv[3].split()
def loss(p, w, lr):
    base = os.path.join(out, "runs", f"{p}-w{w}-lr{lr}")
    if os.path.exists(base + ".skip"): return "skip"
    try: j = json.load(open(base + ".json"))
    except Exception: return "fail"
    if j.get("diverged"): return "div"
    if j.get("failed"): return "fail"
    v = j.get("val_loss")
    return v if isinstance(v, (int, float)) and math.isfinite(v) else "div"
rows = []
for p in ("sp", "mup"):
    print(f"\n{p}: final val loss (width x lr)")
    print(f"{'width':>6} " + " ".join(f"{float(lr):>9.3g}" for lr in lrs) + "   best lr")
    best = {}
    for w in widths:
        cells = [loss(p, w, lr) for lr in lrs]
        rows += [(p, w, lr, c) for lr, c in zip(lrs, cells)]
        ok = [(c, i) for i, c in enumerate(cells) if isinstance(c, float)]
        if ok: best[w] = min(ok)[1]
        print(f"{w:>6} " + " ".join(f"{c:>9.4f}" if isinstance(c, float) else f"{c:>9}" for c in cells)
              + (f"   {float(lrs[best[w]]):.3g}" if w in best else "   n/a"))
    if len(best) >= 2:
        idx = list(best.values())
        print(f"{p}: best lr per width " + ", ".join(f"{w}: {float(lrs[i]):.3g}" for w, i in best.items())
              + f"; spread {max(idx) - min(idx)} grid step(s) (widest vs narrowest: {idx[-1] - idx[0]:+d})")
with open(os.path.join(out, "results.csv"), "w") as f:
    f.write("parametrization,width,lr,final_val_loss\n")
    for p, w, lr, c in rows: f.write(f"{p},{w},{lr},{c}\n")
print(f"\n{out}/results.csv")
PY
