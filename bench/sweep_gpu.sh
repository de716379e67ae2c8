#!/usr/bin/env bash
# The GPU scaling-law sweep (docs/BENCHMARKS.md): prepares Brown (carried as .data/brown/raw), starts a coordinator and one
# worker per GPU, launches the sweep YAML (first argument; default bench/gpu-sweep.yaml, or e.g.
# bench/gpu-sweep-isoflop.yaml), waits up to SWEEP_MINUTES (default 7), and writes the report (Markdown, JSON, PNG,
# SVG) to $OUT/report and the sweep's folder to $OUT/sweep.
# Usage: bench/sweep_gpu.sh [SWEEP.yaml]
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SPEC="${1:-bench/gpu-sweep.yaml}"
[[ -f "$SPEC" ]] || { echo "sweep spec '$SPEC' not found" >&2; exit 2; }
source scripts/gpu-env.sh
OUTDIR="${OUT:-/tmp/orch-sweep}"; mkdir -p "$OUTDIR"
"$ORCH" data prepare --input .data/brown/raw --out /tmp/brown256 --tokenizer bytes --block-size 256 --json > "$OUTDIR/prepare.json"
"$ORCH" coordinator --metrics-port 0 > "$OUTDIR/coordinator.log" 2>&1 &
sleep 8
GPUS=$(nvidia-smi -L | wc -l)
for ((g = 0; g < GPUS; g++)); do
  CUDA_VISIBLE_DEVICES=$g "$ORCH" worker --coordinator-silo 127.0.0.1:11111 --device cuda:0 --name gpu$g > "$OUTDIR/worker$g.log" 2>&1 &
done
sleep 10
"$ORCH" workers list
"$ORCH" sweep launch "$SPEC" --json > "$OUTDIR/launch.json"; cat "$OUTDIR/launch.json"
ID=$(python3 -c 'import json,sys; t=open(sys.argv[1]).read(); print(json.loads(t[t.index("{"):])["id"])' "$OUTDIR/launch.json")
for ((i = 0; i < ${SWEEP_MINUTES:-7} * 6; i++)); do
  "$ORCH" sweep status "$ID" --json > "$OUTDIR/status.json" 2>/dev/null
  STATE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"])' "$OUTDIR/status.json" 2>/dev/null)
  [[ -n "$STATE" && "$STATE" != "Running" && "$STATE" != "0" ]] && break
  sleep 10
done
"$ORCH" sweep status "$ID"
"$ORCH" sweep report "$ID" --out "$OUTDIR/report" --bootstrap 1000
# The sweep's folder without its checkpoints (status.json, results.csv, metrics/): `orch sweep report --folder` renders
# the report again from it anywhere, without a cluster.
STORAGE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["folder"])' "$OUTDIR/status.json" 2>/dev/null)
[[ -n "$STORAGE" && -d "$STORAGE" ]] && mkdir -p "$OUTDIR/sweep" && cp -r "$STORAGE/status.json" "$STORAGE/results.csv" "$STORAGE/metrics" "$OUTDIR/sweep/"
