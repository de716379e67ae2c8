#!/usr/bin/env bash
# WSD cooldown branches against cosine from scratch on one GPU, in one call (docs/BENCHMARKS.md): prepares Brown
# (carried as .data/brown/raw), starts a coordinator and one worker, runs the sweep YAML (default
# bench/gpu-sweep-isoflop-wsd.yaml) as written with schedule: cosine, then again with schedule: wsd (branching), writes
# both reports to $OUT/cosine and $OUT/wsd, and prints each sweep's device-seconds, the final losses side by side at
# every (N, D), and both fitted laws. Each sweep may take SWEEP_MINUTES (default 5). PACK_SLOTS: see the worker below.
# Usage: bench/wsd_vs_cosine.sh [SWEEP.yaml]
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SPEC="${1:-bench/gpu-sweep-isoflop-wsd.yaml}"
[[ -f "$SPEC" ]] || { echo "sweep spec '$SPEC' not found" >&2; exit 2; }
source scripts/gpu-env.sh
OUTDIR="${OUT:-/tmp/orch-wsd}"; mkdir -p "$OUTDIR"
"$ORCH" data prepare --input .data/brown/raw --out /tmp/brown256 --tokenizer bytes --block-size 256 --force --json > "$OUTDIR/prepare.json"
"$ORCH" coordinator --metrics-port 0 > "$OUTDIR/coordinator.log" 2>&1 &
COORD=$!
# The worker refuses a coordinator that is not listening yet: wait for its banner.
for ((i = 0; i < 60; i++)); do grep -q "coordinator up" "$OUTDIR/coordinator.log" && break; sleep 1; done
# PACK_SLOTS=1 (the default) trains one run at a time, so each run's wall time is its own GPU-seconds; PACK_SLOTS=N packs
# N runs onto the GPU (every run in flight, CUDA-graph steps), and then the sweep's wall time is what it cost the GPU.
SLOTS="${PACK_SLOTS:-1}"
CUDA_VISIBLE_DEVICES=0 "$ORCH" worker --coordinator-silo 127.0.0.1:11111 --device cuda:0 --name gpu0 --slots "$SLOTS" > "$OUTDIR/worker.log" 2>&1 &
WORKER=$!
trap 'kill $WORKER $COORD 2>/dev/null' EXIT
for ((i = 0; i < 60; i++)); do "$ORCH" workers list --json 2>/dev/null | grep -q '"gpu0"' && break; sleep 1; done

# One sweep to its end: $1 = variant (cosine | wsd); the spec's name gets the variant, wsd adds schedule: wsd.
run_sweep() {
  local variant=$1 spec="$OUTDIR/$1.yaml"
  sed -E "s/^name: .*/name: wsd-vs-cosine-$variant/; /^schedule:/d; /^branching:/d" "$SPEC" > "$spec"
  [[ $variant == wsd ]] && printf 'schedule: wsd\nbranching: true\n' >> "$spec"
  if (( SLOTS > 1 )); then
    sed -i -E '/^(concurrency|cuda_graphs):/d' "$spec"
    printf 'concurrency: 64\ncuda_graphs: on\n' >> "$spec"
  fi
  "$ORCH" sweep launch "$spec" --json > "$OUTDIR/$variant-launch.json" || { cat "$OUTDIR/$variant-launch.json"; return 1; }
  local id; id=$(python3 -c 'import json,sys; t=open(sys.argv[1]).read(); print(json.loads(t[t.index("{"):])["id"])' "$OUTDIR/$variant-launch.json")
  local start=$SECONDS
  for ((i = 0; i < ${SWEEP_MINUTES:-5} * 12; i++)); do
    "$ORCH" sweep status "$id" --json > "$OUTDIR/$variant-status.json" 2>/dev/null
    STATE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"])' "$OUTDIR/$variant-status.json" 2>/dev/null)
    [[ -n "$STATE" && "$STATE" != "Running" ]] && break
    sleep 5
  done
  echo "$variant sweep $id: $STATE after $((SECONDS - start)) s of wall time"
  echo "$((SECONDS - start))" > "$OUTDIR/$variant-wall.txt"
  "$ORCH" sweep report "$id" --out "$OUTDIR/$variant" --bootstrap 200 > /dev/null
}
run_sweep cosine
run_sweep wsd

python3 - "$OUTDIR" <<'PY'
import json, sys, os
out = sys.argv[1]
def load(v):
    p = os.path.join(out, v, "report.json")
    return json.load(open(p)) if os.path.exists(p) else None
cos, wsd = load("cosine"), load("wsd")
if not cos or not wsd: sys.exit("a report is missing: see " + out)
secs = lambda r, pick: sum(x["device_seconds"] or 0 for x in r["runs"] if pick(x))
if os.environ.get("PACK_SLOTS", "1") != "1":
    wall = lambda v: float(open(os.path.join(out, v + "-wall.txt")).read())
    print(f"\npacked on one GPU: GPU-seconds (sweep wall time) cosine from scratch {wall('cosine'):.0f}, WSD branches {wall('wsd'):.0f}"
          f" ({1 - wall('wsd') / wall('cosine'):.1%} saved); per-run seconds below overlap")
print(f"\ndevice-seconds: cosine from scratch {secs(cos, lambda x: True):.1f}, WSD branches {secs(wsd, lambda x: True):.1f}"
      f" (trunks {secs(wsd, lambda x: x['role'] == 'trunk'):.1f} + branches {secs(wsd, lambda x: x['role'] == 'branch'):.1f})")
bc = wsd.get("branch_cost") or {}
if bc: print(f"FLOPs (6ND): cosine {bc['flops_from_scratch']:.3g}, WSD {bc['flops']:.3g} ({1 - bc['flops'] / bc['flops_from_scratch']:.1%} saved)")
w = {x["key"]: x for x in wsd["runs"] if x["role"] == "branch"}
print(f"\n{'run':28} {'N':>9} {'D':>9} {'cosine':>8} {'wsd':>8} {'wsd/cos-1':>9}")
ratios = []
for x in sorted(cos["runs"], key=lambda x: (x["n"], x["d"])):
    b = w.get(x["key"])
    lc, lw = x["final_loss"], b and b["final_loss"]
    r = (lw / lc - 1) if lc and lw else None
    if r is not None: ratios.append(abs(r))
    print(f"{x['key']:28} {x['n']:9.3g} {x['d']:9.3g} {lc or float('nan'):8.4f} {lw or float('nan'):8.4f} {'' if r is None else f'{r:+.2%}':>9}")
if ratios: print(f"WSD within {max(ratios):.2%} of cosine at every (N, D) (mean |difference| {sum(ratios) / len(ratios):.2%})")
for name, r in (("cosine", cos), ("wsd", wsd)):
    f = r.get("fit")
    print(f"{name:7} law: " + (f"L(N, D) = {f['E']:.3f} + {f['A']:.4g}/N^{f['alpha']:.3f} + {f['B']:.4g}/D^{f['beta']:.3f}" if f else "no fit: " + "; ".join(r["notes"])))
PY
