#!/usr/bin/env bash
# The test command: installs what the tests need (scripts/setup.sh), builds once, runs every test project.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
scripts/setup.sh
dotnet build Orchestrator.sln -c Release --nologo -v q -clp:ErrorsOnly
LOG="$(mktemp)"
# End-to-end tests keep each orch process's whole output here (a failure message shows only its head and tail).
export ORCH_E2E_LOG_DIR="$ROOT/.build/test-logs"
set +e
# --blame: if a test host crashes, the log names the tests it was running (the sequence files land in .build/).
dotnet test Orchestrator.sln -c Release --no-build --nologo --blame --results-directory "$ROOT/.build/test-results" "$@" 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}
set -e
passed=$(grep -oE 'Passed: +[0-9]+' "$LOG" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$LOG" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -oE 'Skipped: +[0-9]+' "$LOG" | awk '{s+=$2} END {print s+0}')
rm -f "$LOG"
echo "$passed passed, $failed failed, $skipped skipped"
exit $rc
