#!/usr/bin/env bash
# Loads the TensorBoard event files `orch train --tensorboard` writes with TensorBoard's own reader
# (EventAccumulator) and checks every scalar against the run's metrics.jsonl (docs/CLI.md "Run records").
#
#   ORCH=... [ORCH_LIBTORCH=...] [DEVICE=cuda] [PYTHON=python3] bench/check_tensorboard.sh
#
# Needs a Python with the tensorboard package. Prints one line per tag and "tensorboard check: OK" at the end;
# exits 1 naming the first tag, step or value that differs.
set -euo pipefail
ORCH="${ORCH:-./orch}"
PY="${PYTHON:-python3}"
DEVICE="${DEVICE:-cpu}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/text"
"$PY" - "$WORK/text/a.txt" <<'PYEOF'
import random, sys
random.seed(7)
words = "the run writes its scalars for tensorboard to read back every report".split()
with open(sys.argv[1], "w") as f:
    for i in range(30000):
        f.write(random.choice(words) + (".\n" if i % 11 == 10 else " "))
PYEOF
"$ORCH" data prepare --input "$WORK/text" --out "$WORK/corpus" --tokenizer bytes --block-size 64 >/dev/null
"$ORCH" train --data "$WORK/corpus" --out "$WORK/run" --set n_layer=2,n_head=2,n_embd=64,block_size=64 --block-size 64 --batch 8 \
  --steps 200 --log-every 10 --eval-every 50 --eval-batches 4 --device "$DEVICE" --tensorboard --json >/dev/null
"$PY" - "$WORK/run" <<'PYEOF'
import json, math, os, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
run = sys.argv[1]
rows = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl")) if l.strip()]
acc = EventAccumulator(os.path.join(run, "tensorboard"), size_guidance={"scalars": 0})
acc.Reload()
tags = {"train/loss": "loss", "val/loss": "val_loss", "train/lr": "lr", "train/tokens_per_s": "tokens_per_s",
        "train/tokens": "tokens", "train/world_size": "world_size"}
if any(r["mfu"] is not None for r in rows):  # MFU only where the device has a known peak (CUDA)
    tags["train/mfu"] = "mfu"
have = set(acc.Tags()["scalars"])
missing = set(tags) - have
if missing:
    sys.exit(f"tensorboard check: tags missing: {sorted(missing)} (have {sorted(have)})")
for tag, field in tags.items():
    expected = [(r["step"], r[field]) for r in rows if r[field] is not None]
    got = [(e.step, e.value) for e in acc.Scalars(tag)]
    if [s for s, _ in got] != [s for s, _ in expected]:
        sys.exit(f"tensorboard check: {tag}: steps {[s for s, _ in got]} but metrics.jsonl has {[s for s, _ in expected]}")
    for (step, v), (_, want) in zip(got, expected):
        if not math.isclose(v, want, rel_tol=1e-6, abs_tol=1e-12):  # events hold float32
            sys.exit(f"tensorboard check: {tag} at step {step}: {v} but metrics.jsonl has {want}")
    print(f"{tag}: {len(got)} points, last {got[-1][1]:.6g} at step {got[-1][0]}")
print("tensorboard check: OK")
PYEOF
