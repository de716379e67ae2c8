#!/usr/bin/env bash
# Makes a self-contained linux-x64 publish of orch for a GPU machine that has its own CUDA libtorch
# (a PyTorch install) and no .NET: TorchBackend=external references TorchSharp alone, so no libtorch is bundled.
# Output: .publish/orch/ (the app) and .publish/orch.tar.xz (what travels; about 30 MB).
# On the GPU machine: ORCH_LIBTORCH=<torch>/lib .publish/orch/orch doctor --json --smoke   (see README: GPU use)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/.publish"
rm -rf "$OUT/orch" "$OUT/orch.tar.xz"
mkdir -p "$OUT"
# A separate artifacts folder keeps this restore (TorchBackend=external) apart from the normal build's obj/.
dotnet publish "$ROOT/Cli/Cli.csproj" -c Release -r linux-x64 --self-contained \
  -p:TorchBackend=external -p:OrchPatchGlibcxx=always \
  --artifacts-path "$ROOT/.build/publish-artifacts" -o "$OUT/orch" --nologo -v q -clp:ErrorsOnly
ln -sf Orchestrator.Cli "$OUT/orch/orch"
tar -C "$OUT" -cJf "$OUT/orch.tar.xz" orch
du -sh "$OUT/orch" "$OUT/orch.tar.xz"
