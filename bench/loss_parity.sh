#!/usr/bin/env bash
# Loss parity with nanoGPT's train.py on the same data and hyperparameters (docs/benchmarks/model.md).
#
#   ORCH=... ORCH_LIBTORCH=... NANOGPT_DIR=path/to/nanoGPT BROWN=.data/brown/raw  bench/loss_parity.sh
#
# Both read the same nanoGPT-format files (data/brown/train.bin, val.bin: uint16 byte tokens of the tag-stripped
# Brown corpus, 90/10 split): nanoGPT through np.memmap, ours through its .bin reader (CorpusSources). Same model
# (4 layers, 4 heads, 256 wide, block 256, no bias, no dropout), batch 32, 2000 steps, LR 1e-3 -> 1e-4 cosine after
# 100 warm-up steps, AdamW (0.9, 0.95), weight decay 0.1, clip 1.0, bf16. Compare the final val losses (target: within 2%).
set -euo pipefail
ORCH="${ORCH:-./orch}"
PY="${PYTHON:-python3}"   # the Python that has PyTorch
BROWN="${BROWN:-.data/brown/raw}"
STEPS="${STEPS:-2000}"
: "${NANOGPT_DIR:?set NANOGPT_DIR to a nanoGPT checkout}"
DATA="$NANOGPT_DIR/data/brown"
mkdir -p "$DATA"
"$PY" - "$BROWN" "$DATA" <<'PYEOF'
import os, pickle, sys, json
raw, out = sys.argv[1], sys.argv[2]
docs = []
for name in sorted(os.listdir(raw)):
    if len(name) != 4 or not name[2].isdigit():
        continue
    text = open(os.path.join(raw, name), encoding="utf-8").read()
    lines = (" ".join(w[: w.rfind("/")] if w.rfind("/") > 0 else w for w in line.split()) for line in text.split("\n"))
    docs.append("\n".join(l for l in lines if l) + "\n")
ids = []
for d in docs:
    ids.extend(d.encode("utf-8"))
    ids.append(256)  # end of text
n = int(len(ids) * 0.9)
import array
for split, part in (("train", ids[:n]), ("val", ids[n:])):
    array.array("H", part).tofile(open(os.path.join(out, split + ".bin"), "wb"))
pickle.dump({"vocab_size": 257}, open(os.path.join(out, "meta.pkl"), "wb"))
json.dump({"vocab_size": 257}, open(os.path.join(out, "meta.json"), "w"))
print("brown: %d train, %d val tokens" % (n, len(ids) - n), file=sys.stderr)
PYEOF

echo "== ours ==" >&2
OUT="$(mktemp -d)/run"
"$ORCH" train --data "$DATA" --out "$OUT" --set n_layer=4,n_head=4,n_embd=256,block_size=256,bias=false,vocab_size=257 \
  --block-size 256 --batch 32 --steps "$STEPS" --lr 1e-3 --min-lr 1e-4 --warmup-steps 100 --weight-decay 0.1 --grad-clip 1.0 \
  --device cuda --eval-every 250 --eval-batches 50 --log-every 50 --json

echo "== nanoGPT train.py ==" >&2
cd "$NANOGPT_DIR"
"$PY" train.py --dataset=brown --out_dir="$(mktemp -d)" --n_layer=4 --n_head=4 --n_embd=256 --block_size=256 --bias=False \
  --dropout=0.0 --batch_size=32 --gradient_accumulation_steps=1 --max_iters="$STEPS" --lr_decay_iters="$STEPS" \
  --learning_rate=1e-3 --min_lr=1e-4 --warmup_iters=100 --weight_decay=0.1 --beta2=0.95 --grad_clip=1.0 \
  --eval_interval=250 --eval_iters=50 --log_interval=50 --compile=False --device=cuda --dtype=bfloat16 \
  --always_save_checkpoint=False --wandb_log=False 2>&1 | grep -E "^step|val loss" | tail -10
