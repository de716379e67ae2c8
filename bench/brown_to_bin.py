"""Writes the Brown corpus as nanoGPT-format token files, for loss-parity runs of nanoGPT and orch on the same data.

    python3 bench/brown_to_bin.py .data/brown/raw OUT_DIR

Tokens are UTF-8 bytes plus 256 as end-of-document (vocab 257, like `--tokenizer bytes`); POS tags are stripped
by keeping what is left of the last '/' of each word. OUT_DIR gets train.bin / val.bin (uint16, 90/10 split),
meta.pkl (nanoGPT) and meta.json (orch) with the vocabulary size.
"""
import array
import json
import os
import pickle
import re
import sys


def main(raw, out):
    files = sorted(f for f in os.listdir(raw) if re.fullmatch(r"c[a-r]\d\d", f))
    tokens = array.array("H")
    for f in files:
        with open(os.path.join(raw, f), encoding="utf-8", errors="replace") as fh:
            words = [w.rsplit("/", 1)[0] for w in fh.read().split()]
        tokens.extend(" ".join(words).encode("utf-8"))
        tokens.append(256)
    split = int(len(tokens) * 0.9)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "train.bin"), "wb") as fh:
        tokens[:split].tofile(fh)
    with open(os.path.join(out, "val.bin"), "wb") as fh:
        tokens[split:].tofile(fh)
    with open(os.path.join(out, "meta.pkl"), "wb") as fh:
        pickle.dump({"vocab_size": 257}, fh)
    with open(os.path.join(out, "meta.json"), "w") as fh:
        json.dump({"vocab_size": 257}, fh)
    print(f"{len(files)} documents, {len(tokens)} tokens, {split} train")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
