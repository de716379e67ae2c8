#!/usr/bin/env bash
# The fault suite (tests/EndToEnd.Tests/FaultSuite, docs/BENCHMARKS.md "Fault suite") with its report: seeded
# SIGKILLs of workers across concurrent GPT runs on `orch local`, SIGTERM of `orch train`, SIGKILL of a Redis-mode
# coordinator mid-sweep, random byte damage to checkpoints and corpus shards. CPU only; needs redis-server
# (scripts/setup.sh). Prints one line per fault as a Markdown table: seed, fault, run, step, recovery s, tokens lost.
# ORCH_FAULT_SEED=N replays another seed (default: the suite's fixed one). Exits with the tests' status.
# Usage: bench/fault_suite.sh [--no-build]
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPORT="$(mktemp /tmp/orch-fault-report.XXXXXX)"
LOG="${REPORT}.log"
trap 'rm -f "$REPORT"' EXIT
[[ "${1:-}" == "--no-build" ]] || dotnet build tests/EndToEnd.Tests -c Release --nologo -v q -clp:ErrorsOnly || exit 1
nproc_=$(nproc); model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); ${nproc_} cores ($model); load $(cut -d' ' -f1-3 /proc/loadavg); seed ${ORCH_FAULT_SEED:-default}"
start=$(date +%s)
ORCH_FAULT_REPORT="$REPORT" dotnet test tests/EndToEnd.Tests -c Release --no-build --nologo \
    --filter "FullyQualifiedName~EndToEnd.FaultSuite" --logger "console;verbosity=normal" > "$LOG" 2>&1
rc=$?
grep -E '^\s+(Passed|Failed) .*\[|^(Passed|Failed)!' "$LOG"
echo "suite wall time: $(( $(date +%s) - start )) s (test log: $LOG)"
echo
echo "| seed | fault | run | step | recovery s | tokens lost |"
echo "|---|---|---|---|---:|---:|"
tail -n +2 "$REPORT" | awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }'
exit $rc
