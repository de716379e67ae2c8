#!/usr/bin/env bash
# A scaling law from a real corpus nobody here wrote, on one GPU machine (docs/BENCHMARKS.md, "Code corpus sweep"):
#  1. the corpus: every *.py file under the site-packages folder that holds PyTorch (found by asking python3 where
#     torch lives), without tests' fixtures duplicated across packages (exact duplicates are dropped by content hash);
#  2. a BPE tokenizer (BPE_VOCAB ids, default 8192) trained on an evenly spread sample of it (SAMPLE_MB, default 40),
#     or TOKENIZER=cl100k to skip training;
#  3. `orch data prepare` over the folder tree (--include '*.py', documents over 1 MB split, split by document);
#  4. a coordinator and one worker per GPU (PACK_SLOTS runs packed on each, default 8, with CUDA-graph steps), the
#     sweep (first argument; default bench/code-sweep.yaml), the report.
# Writes prepare.json, the tokenizer, logs, the report (report/) and the sweep's folder (sweep/) under $OUT.
# Usage: bench/code_corpus_sweep.sh [SWEEP.yaml]      (SWEEP_MINUTES: how long to wait, default 8)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SPEC="${1:-bench/code-sweep.yaml}"
[[ -f "$SPEC" ]] || { echo "sweep spec '$SPEC' not found" >&2; exit 2; }
source scripts/gpu-env.sh
OUTDIR="${OUT:-/tmp/orch-code-out}"; mkdir -p "$OUTDIR"
WORK=/tmp/orch-code; mkdir -p "$WORK"
SITE_PACKAGES="$("${PYTHON:-python3}" -c 'import torch, os; print(os.path.dirname(os.path.dirname(torch.__file__)))')"
echo "corpus source: $SITE_PACKAGES (*.py)"
T0=$(date +%s)
TOKENIZER="${TOKENIZER:-bpe}"
if [[ "$TOKENIZER" == bpe ]]; then
  "$ORCH" tokenizer train --input "$SITE_PACKAGES" --include '*.py' --sample-bytes "$(( ${SAMPLE_MB:-40} * 1000000 ))" \
    --vocab-size "${BPE_VOCAB:-8192}" --out "$WORK/bpe.json" --force 2>&1 | tee "$OUTDIR/tokenizer.log"
  cp "$WORK/bpe.json" "$OUTDIR/bpe.json"
  TOK="bpe:$WORK/bpe.json"
else
  TOK="$TOKENIZER"
fi
T1=$(date +%s)
"$ORCH" data prepare --input "$SITE_PACKAGES" --include '*.py' --max-doc-bytes 1000000 --oversized split \
  --split document --out "$WORK/corpus" --force --tokenizer "$TOK" --block-size 256 --val-fraction 0.01 --json > "$OUTDIR/prepare.json"
T2=$(date +%s)
cat "$OUTDIR/prepare.json"
echo "tokenizer $((T1 - T0)) s, prepare $((T2 - T1)) s"
"$ORCH" coordinator --metrics-port 0 > "$OUTDIR/coordinator.log" 2>&1 &
for ((i = 0; i < 60; i++)); do grep -q "coordinator up" "$OUTDIR/coordinator.log" && break; sleep 1; done
GPUS=$(nvidia-smi -L | wc -l)
# Packed by default: PACK_SLOTS runs share each GPU (worker --slots), every run in flight, CUDA-graph steps; PACK_SLOTS=1
# runs the spec as written (one run per GPU at a time, its own cuda_graphs setting).
SLOTS="${PACK_SLOTS:-8}"
for ((g = 0; g < GPUS; g++)); do
  CUDA_VISIBLE_DEVICES=$g "$ORCH" worker --coordinator-silo 127.0.0.1:11111 --device cuda:0 --device-key "gpu$g" --name gpu$g --slots "$SLOTS" > "$OUTDIR/worker$g.log" 2>&1 &
done
if (( SLOTS > 1 )); then
  grep -vE '^(concurrency|cuda_graphs):' "$SPEC" > "$OUTDIR/sweep.yaml"
  printf 'concurrency: %d\ncuda_graphs: on\n' "$(( SLOTS * GPUS ))" >> "$OUTDIR/sweep.yaml"
  SPEC="$OUTDIR/sweep.yaml"
fi
sleep 10
"$ORCH" sweep launch "$SPEC" --dry-run
"$ORCH" sweep launch "$SPEC" --json > "$OUTDIR/launch.json"; cat "$OUTDIR/launch.json"
ID=$(python3 -c 'import json,sys; t=open(sys.argv[1]).read(); print(json.loads(t[t.index("{"):])["id"])' "$OUTDIR/launch.json")
for ((i = 0; i < ${SWEEP_MINUTES:-8} * 6; i++)); do
  "$ORCH" sweep status "$ID" --json > "$OUTDIR/status.json" 2>/dev/null
  STATE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"])' "$OUTDIR/status.json" 2>/dev/null)
  [[ -n "$STATE" && "$STATE" != "Running" && "$STATE" != "0" ]] && break
  sleep 10
done
"$ORCH" sweep status "$ID"
"$ORCH" sweep report "$ID" --out "$OUTDIR/report" --bootstrap 1000
STORAGE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["folder"])' "$OUTDIR/status.json" 2>/dev/null)
[[ -n "$STORAGE" && -d "$STORAGE" ]] && mkdir -p "$OUTDIR/sweep" && cp -r "$STORAGE/status.json" "$STORAGE/results.csv" "$STORAGE/metrics" "$OUTDIR/sweep/"
echo "total $(( $(date +%s) - T0 )) s"
