#!/usr/bin/env bash
# Sweep throughput, today's way against packed runs, in one call (docs/BENCHMARKS.md): runs SWEEP.yaml twice on this
# machine's GPUs and prints, for each, the wall time from launch to the last run's end, Σ 6·N·D (N non-embedding
# parameters, D tokens, from the sweep's results) and the sweep-level MFU = Σ 6·N·D / (wall x GPUs x 989e12), then
# every run's final loss in both (they must agree), then per-shape step times of `orch bench train` against
# PyTorch's eager and whole-step CUDA-graph steps (bench/torch_gpt_step.py).
#   1. baseline: one worker per GPU, one run per GPU at a time (concurrency = GPUs), eager steps;
#   2. packed: one worker per GPU with PACK_SLOTS slots (default 4), concurrency = every run, CUDA-graph steps
#      (`cuda_graphs: on`; NO_CUDA_GRAPHS=1 leaves the key out, for builds without it). PACK_MODE=mps instead starts
#      PACK_SLOTS one-slot workers per GPU under the MPS control daemon (`orch worker --mps`).
# Needs the carried self-contained publish (.publish/orch.tar.xz, scripts/publish-gpu.sh), Brown as .data/brown/raw
# and a python3 with PyTorch. SKIP_SHAPES=1 leaves out the per-shape step times; MODES=packed runs only the packed
# sweep. Writes logs and both sweeps' status to $OUT (default /tmp/orch-sweep-throughput).
# Usage: bench/sweep_throughput.sh [SWEEP.yaml]     (default bench/gpu-sweep.yaml)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SPEC="${1:-bench/gpu-sweep.yaml}"
[[ -f "$SPEC" ]] || { echo "sweep spec '$SPEC' not found" >&2; exit 2; }
source scripts/gpu-env.sh
OUTDIR="${OUT:-/tmp/orch-sweep-throughput}"; mkdir -p "$OUTDIR"
GPUS=$(nvidia-smi -L | wc -l)
# 4 slots by default: on one H200, 8 slots with the largest runs first ran out of device memory (docs/BENCHMARKS.md).
SLOTS="${PACK_SLOTS:-4}"
MODE="${PACK_MODE:-slots}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader -i 0; date -u
"$ORCH" data prepare --input .data/brown/raw --out /tmp/brown256 --tokenizer bytes --block-size 256 --json > "$OUTDIR/prepare.json" || exit 1

PIDS=()
SILO_PORT=21110 GATEWAY_PORT=31110
# SIGTERM: background jobs of a non-interactive shell ignore SIGINT.
stop_cluster() {
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill -TERM "${PIDS[$i]}" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  PIDS=()
}
trap stop_cluster EXIT

# run_sweep NAME CONCURRENCY GRAPHS WORKER-FUNCTION: one cluster (its own ports), one sweep; writes "STATE WALL" to
# NAME/wall.txt.
run_sweep() {
  local name="$1" conc="$2" graphs="$3"; shift 3
  local log="$OUTDIR/$name"; mkdir -p "$log"
  export SILO_PORT=$((SILO_PORT + 1)) ORCH_COORDINATOR="127.0.0.1:$((GATEWAY_PORT += 1))"
  "$ORCH" coordinator --metrics-port 0 --port "$SILO_PORT" --gateway-port "$GATEWAY_PORT" > "$log/coordinator.log" 2>&1 & PIDS+=($!)
  sleep 6
  "$@"
  local want=$(( GPUS * ${WORKERS_PER_GPU:-1} ))
  for ((i = 0; i < 120; i++)); do
    [[ $("$ORCH" workers list --json 2>/dev/null | python3 -c 'import json,sys; print(len({w.get("id","").split("/")[0] for w in json.load(sys.stdin) if w.get("state")=="Idle"}))' 2>/dev/null) -ge $want ]] && break
    sleep 1
  done
  # The sweep as given, under its own name, with this mode's concurrency (and CUDA-graph key).
  python3 - "$SPEC" "$log/sweep.yaml" "$name" "$conc" "$graphs" <<'PY'
import sys
src, dst, name, conc, graphs = sys.argv[1:]
keep = [l for l in open(src) if not l.startswith(("name:", "concurrency:", "cuda_graphs:", "storage:"))]
extra = [f"name: {name}\n", f"storage: /tmp/sweeps-{name}\n", f"concurrency: {conc}\n"] + ([f"cuda_graphs: {graphs}\n"] if graphs else [])
open(dst, "w").write("".join(extra + keep))
PY
  local t0=$(date +%s.%N)
  "$ORCH" sweep launch "$log/sweep.yaml" --json > "$log/launch.json" || { cat "$log/launch.json"; return 1; }
  local id=$(python3 -c 'import json,sys; t=open(sys.argv[1]).read(); print(json.loads(t[t.index("{"):])["id"])' "$log/launch.json")
  for ((i = 0; i < ${SWEEP_SECONDS:-600}; i++)); do
    "$ORCH" sweep status "$id" --json > "$log/status.json" 2>/dev/null
    state=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"])' "$log/status.json" 2>/dev/null)
    [[ -n "$state" && "$state" != "Running" ]] && break
    sleep 1
  done
  local t1=$(date +%s.%N)
  "$ORCH" sweep status "$id" > "$log/status.txt" 2>&1
  if [[ "$state" != "Completed" ]]; then  # say why, while the cluster is still up
    echo "-- $name ended $state; its status and the errors its workers logged:"; tail -40 "$log/status.txt"
    grep -hiE "error|exception|fail|abort|fatal|terminate" "$log"/*.log | grep -v "^\s*at " | sort | uniq -c | sort -rn | head -20
  fi
  folder=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["folder"])' "$log/status.json")
  cp "$folder/results.csv" "$log/results.csv" 2>/dev/null
  # Where each run's wall time went (rank 0's phases in its run status).
  "$ORCH" run list --json > "$log/runs.json" 2>/dev/null
  for r in $(python3 -c 'import json,sys; [print(r["id"]) for r in json.load(open(sys.argv[1]))]' "$log/runs.json" 2>/dev/null); do
    "$ORCH" run status "$r" --json 2>/dev/null | python3 -c 'import json,sys; s=json.load(sys.stdin); print(json.dumps({"id": s["id"], "phases": s.get("phases")}))'
  done > "$log/phases.jsonl"
  stop_cluster
  echo "$state $(python3 -c "print($t1 - $t0)")" > "$log/wall.txt"
}

baseline_workers() {
  for ((g = 0; g < GPUS; g++)); do
    CUDA_VISIBLE_DEVICES=$g "$ORCH" worker --coordinator-silo "127.0.0.1:$SILO_PORT" --device cuda:0 --device-key "gpu$g" --name gpu$g \
      > "$OUTDIR/baseline/worker$g.log" 2>&1 & PIDS+=($!)
  done
}
packed_workers() {
  for ((g = 0; g < GPUS; g++)); do
    if [[ "$MODE" == mps ]]; then
      for ((k = 0; k < SLOTS; k++)); do
        CUDA_VISIBLE_DEVICES=$g "$ORCH" worker --coordinator-silo "127.0.0.1:$SILO_PORT" --device cuda:0 --device-key "gpu$g" --name gpu$g-p$k --mps \
          > "$OUTDIR/packed/worker$g-$k.log" 2>&1 & PIDS+=($!)
        [[ $k == 0 ]] && sleep 3  # the first starts the MPS daemon
      done
    else
      CUDA_VISIBLE_DEVICES=$g "$ORCH" worker --coordinator-silo "127.0.0.1:$SILO_PORT" --device cuda:0 --device-key "gpu$g" --name gpu$g --slots "$SLOTS" \
        > "$OUTDIR/packed/worker$g.log" 2>&1 & PIDS+=($!)
    fi
  done
}

RUNS=256  # every run of the sweep in flight at once; the scheduler packs what fits
GRAPHS=on; [[ "${NO_CUDA_GRAPHS:-0}" == 1 ]] && GRAPHS=""
MODES="${MODES:-baseline packed}"  # MODES=packed runs the packed sweep alone (a call too short for both)
if [[ " $MODES " == *" baseline "* ]]; then
echo "== baseline: $GPUS worker(s), one run per GPU, eager"
WORKERS_PER_GPU=1 run_sweep baseline "$GPUS" "${GRAPHS:+off}" baseline_workers
fi
echo "== packed: $([[ $MODE == mps ]] && echo "$SLOTS workers per GPU under MPS" || echo "one worker per GPU with $SLOTS slots"), all runs in flight, cuda_graphs ${GRAPHS:-(left out)}"
WORKERS_PER_GPU=$([[ $MODE == mps ]] && echo "$SLOTS" || echo 1) run_sweep packed "$RUNS" "$GRAPHS" packed_workers

python3 - "$OUTDIR" "$GPUS" <<'PY'
import csv, json, os, sys
out, gpus = sys.argv[1], int(sys.argv[2])
peak = float(os.environ.get("ORCH_PEAK_TFLOPS", "989")) * 1e12
res = {}
for mode in ("baseline", "packed"):
    if not os.path.exists(f"{out}/{mode}/wall.txt"): continue
    state, wall = open(f"{out}/{mode}/wall.txt").read().split()
    rows = list(csv.DictReader(open(f"{out}/{mode}/results.csv"))) if os.path.exists(f"{out}/{mode}/results.csv") else []
    flops = sum(6 * float(r["N"]) * float(r["D"]) for r in rows)
    res[mode] = (state, float(wall), flops, {r["key"]: float(r["loss"]) for r in rows})
    phases = [json.loads(l)["phases"] for l in open(f"{out}/{mode}/phases.jsonl") if l.strip()]
    phases = [p for p in phases if p]
    tot = {k: sum(p[k] for p in phases) for k in (phases[0] if phases else {}) if k != "steps"}
    print(f"{mode:8s}: {state}, {len(rows)} runs, wall {float(wall):.1f} s, sum 6ND {flops:.3e} FLOPs, "
          f"sweep-level MFU {flops / (float(wall) * gpus * peak):.1%}")
    if tot: print("          run time summed over runs (s): " + ", ".join(f"{k.replace('_seconds', '')} {v:.1f}" for k, v in tot.items()))
if len(res) < 2: sys.exit(0)
b, p = res["baseline"], res["packed"]
if p[1] > 0: print(f"speed-up: {b[1] / p[1]:.2f}x wall time")
print(f"{'run':40s} {'baseline loss':>14s} {'packed loss':>14s}")
bad = 0
for k in sorted(set(b[3]) | set(p[3])):
    lb, lp = b[3].get(k), p[3].get(k)
    same = lb is not None and lp is not None and abs(lb - lp) <= 1e-4 * max(1.0, abs(lb))
    bad += not same
    print(f"{k:40s} {lb if lb is not None else float('nan'):14.6f} {lp if lp is not None else float('nan'):14.6f}{'' if same else '  DIFFERENT'}")
print("final losses agree" if bad == 0 else f"{bad} run(s) differ")
PY

[[ "${SKIP_SHAPES:-0}" == 1 ]] && exit 0
echo "== per-shape step times, batch x 256 tokens, byte vocabulary, no biases, bf16 (orch: --cuda-graphs off, then on; torch: eager, whole-step graph)"
export CUDA_VISIBLE_DEVICES=0
for shape in "3 192 3 32" "6 384 6 32" "6 384 6 128"; do
  read -r L C H B <<< "$shape"
  ours() { "$ORCH" bench train --model gpt2 --set "n_layer=$L,n_head=$H,n_embd=$C,block_size=256,vocab_size=257,bias=false" --batch "$B" --block-size 256 \
      --device cuda --steps 300 --warmup-steps 20 --json "$@" 2>/dev/null \
    | python3 -c 'import json,sys; t=sys.stdin.read(); d=json.loads(t[t.index("{"):]); print("%.3f ms/step (MFU %.1f%%)" % (d["ms_per_step"], 100 * (d["mfu"] or 0)))' 2>/dev/null || echo "n/a"; }
  if [[ -n "$GRAPHS" ]]; then eager=$(ours --cuda-graphs off); graphed=$(ours --cuda-graphs on); else eager=$(ours); graphed="(no --cuda-graphs)"; fi
  torch=$(python3 bench/torch_gpt_step.py --layers "$L" --embd "$C" --heads "$H" --batch "$B" --block 256 --vocab 257 --no-bias --steps 300 --warmup 20)
  echo "${L}x${C} batch $B: orch eager $eager, orch graphs $graphed | $torch"
done
