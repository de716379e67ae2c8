# Sourced on the GPU machine: unpacks the carried publish once and points orch at the machine's libtorch, NCCL and
# CUDA runtime, found by asking the Python that has PyTorch (or ORCH_LIBTORCH when it is set).
# Usage: source scripts/gpu-env.sh   then   "$ORCH" doctor --json        (PYTHON: that Python; default python3)
TORCH_LIB="${ORCH_LIBTORCH:-$("${PYTHON:-python3}" -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')}"
SITE="$(dirname "$(dirname "$TORCH_LIB")")"
export ORCH_LIBTORCH="$TORCH_LIB" LD_LIBRARY_PATH="$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" NCCL_NVLS_ENABLE=0
[[ -f "$SITE/nvidia/nccl/lib/libnccl.so.2" ]] && export ORCH_NCCL="$SITE/nvidia/nccl/lib/libnccl.so.2"
# The CUDA runtime PyTorch was installed with, else a system CUDA toolkit's.
for c in "$SITE"/nvidia/cuda_runtime/lib/libcudart.so.1[0-9] "${CUDA_HOME:-/usr/local/cuda}"/targets/x86_64-linux/lib/libcudart.so.1[0-9]; do
  [[ -f "$c" ]] && export ORCH_CUDART="$c" && break
done
ORCH_APP="${ORCH_APP:-/tmp/orch-app}"
[[ -x "$ORCH_APP/orch/orch" ]] || { mkdir -p "$ORCH_APP" && tar -C "$ORCH_APP" -xJf "$(dirname "${BASH_SOURCE[0]}")/../.publish/orch.tar.xz"; }
export ORCH="$ORCH_APP/orch/orch"
