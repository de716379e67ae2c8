#!/usr/bin/env bash
# The GPU machine's check, in one command (run from the repository root after scripts/publish-gpu.sh):
# unpacks .publish/orch.tar.xz, points orch at the machine's PyTorch libtorch and NCCL, and prints
# `orch doctor --json --smoke` next to PyTorch's own figures for the same matmul and SDPA (bench/torch_smoke.py).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TORCH_LIB="${ORCH_LIBTORCH:-$("${PYTHON:-python3}" -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')}"
APP="${ORCH_APP:-/tmp/orch-app}"
if [[ ! -x "$APP/orch/orch" ]]; then mkdir -p "$APP" && tar -C "$APP" -xJf "$ROOT/.publish/orch.tar.xz"; fi
export ORCH_LIBTORCH="$TORCH_LIB" LD_LIBRARY_PATH="$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" NCCL_NVLS_ENABLE=0
echo "== orch doctor --json --smoke"
"$APP/orch/orch" doctor --json --smoke
echo "== PyTorch (bench/torch_smoke.py)"
"${PYTHON:-python3}" "$ROOT/bench/torch_smoke.py"
