#!/usr/bin/env bash
# ZeRO-3's reason to exist, on nvidia-h200-x2: a model whose DDP states (16 bytes a parameter) do not fit one GPU
# trains on two with ZeRO-3 (16Ψ/2 a rank), side by side with PyTorch FSDP2 on the same shape in the same call, and
# the same model under DDP fails for memory. Default shape: 48 layers, 32 heads, 4096 wide, block 1024, vocab
# 50304 (9.87B parameters: DDP needs 158 GB of model states, an H200 has 141 GB). Batch 1 x 1024 per rank.
# Carry .publish/orch.tar.xz and nanoGPT's model.py ($NANOGPT_DIR, default .device/nanogpt).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/gpu-env.sh
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader; date -u
OUTDIR="${OUT:-/tmp/orch-bench}"; mkdir -p "$OUTDIR"
L="${N_LAYER:-48}" H="${N_HEAD:-32}" C="${N_EMBD:-4096}" STEPS="${STEPS:-15}"
rm -rf /tmp/synthetic; "$ORCH" bench data generate --out /tmp/synthetic --tokens 2000000 > /dev/null
peak() { # csv -> per-GPU peak MiB
  python3 -c "import sys; p={}
for line in open(sys.argv[1]):
    i, m = [x.strip() for x in line.split(',')]; p[i] = max(p.get(i, 0), int(m))
print(p)" "$1"
}
ours() { # name, zero
  local name=$1 zero=$2 start=$(date +%s)
  nvidia-smi --query-gpu=index,memory.used --format=csv,noheader,nounits -lms 200 > "$OUTDIR/mem_$name.csv" &
  local smi=$!
  "$ORCH" train --data /tmp/synthetic --out "/tmp/run-$name" --model gpt2 --set "n_layer=$L,n_head=$H,n_embd=$C,bias=false" \
    --device cuda --batch 1 --block-size 1024 --steps "$STEPS" --log-every 5 --eval-batches 0 --warmup-steps 2 --no-checkpoint \
    --nproc 2 --backend nccl --zero "$zero" --json > "$OUTDIR/train_$name.json" 2> "$OUTDIR/train_$name.err"
  local rc=$?
  kill $smi 2>/dev/null
  echo "$name: rc=$rc wall=$(( $(date +%s) - start ))s peak_mem_mib=$(peak "$OUTDIR/mem_$name.csv")"
  grep -h -m1 "^model:" "$OUTDIR/train_$name.err"
  grep -h -m3 -iE "error|out of memory" "$OUTDIR/train_$name.err" | cut -c1-300
  python3 -c "import json,sys; t=open(sys.argv[1]).read(); d=json.loads(t[t.index('{'):]); print({k: d.get(k) for k in ('world_size','tokens_per_second','loss')})" "$OUTDIR/train_$name.json" 2>/dev/null || true
}
ours zero3 3
start=$(date +%s)
"${PYTHON:-python3}" -m torch.distributed.run --standalone --nproc_per_node 2 bench/sharded_torch.py --mode fsdp --nanogpt "${NANOGPT_DIR:-.device/nanogpt}" \
  --n-layer "$L" --n-head "$H" --n-embd "$C" --batch 1 --steps "$STEPS" 2> "$OUTDIR/torch_fsdp_big.err" | sed 's/^/torch-fsdp: /'
echo "torch-fsdp: wall=$(( $(date +%s) - start ))s"; grep -h -m3 -iE "error|out of memory" "$OUTDIR/torch_fsdp_big.err" | cut -c1-300
if [[ -z "${SKIP_DDP:-}" ]]; then ours ddp 0; fi
