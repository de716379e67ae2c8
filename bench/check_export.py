#!/usr/bin/env python3
"""Checks an `orch export` file against the logits `orch sample --dump-logits` printed for the same tokens.

Loads MODEL.safetensors (nanoGPT layout by default, `--layout hf` for the Hugging Face one), runs a minimal GPT-2
forward written here (PyTorch when it is installed, else plain Python for tiny models), and prints the max |diff|
of the logits. Exit 0 when it is at most --tol (default 1e-3).

    ./orch export --checkpoint RUN --out /tmp/model.safetensors [--layout hf]
    ./orch sample --checkpoint RUN --tokens 1,2,3,4 --max-tokens 0 --dump-logits /tmp/logits.safetensors
    python3 bench/check_export.py /tmp/model.safetensors /tmp/logits.safetensors [--layout hf] [--hf]

With --hf (and the transformers package) the file is also loaded into transformers' GPT2LMHeadModel.
"""
import argparse
import json
import math
import struct
import sys

DTYPES = {"F32": ("f", 4), "I64": ("q", 8), "F64": ("d", 8), "I32": ("i", 4)}


def read_safetensors(path):
    """Returns ({name: (shape, flat list of values)}, metadata) with no third-party package."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    for name, info in header.items():
        fmt, size = DTYPES[info["dtype"]]
        b, e = info["data_offsets"]
        count = (e - b) // size
        out[name] = (info["shape"], list(struct.unpack_from("<%d%s" % (count, fmt), data, 8 + n + b)))
    return out, meta


def forward_torch(tensors, meta, tokens, layout):
    import torch
    import torch.nn.functional as F

    t = {k: torch.tensor(v, dtype=torch.float32).view(*s) for k, (s, v) in tensors.items()}
    L, H = int(meta["n_layer"]), int(meta["n_head"])
    C = int(meta["n_embd"])
    idx = torch.tensor(tokens, dtype=torch.long)
    T = idx.shape[0]

    def lin(x, name):  # nanoGPT Linear: weight (out, in); HF Conv1D: weight (in, out)
        w = t[name + ".weight"]
        y = x @ (w if layout == "hf" else w.t())
        b = t.get(name + ".bias")
        return y + b if b is not None else y

    def ln(x, name):
        return F.layer_norm(x, (C,), t[name + ".weight"], t.get(name + ".bias"), 1e-5)

    x = t["transformer.wte.weight"][idx] + t["transformer.wpe.weight"][:T]
    for i in range(L):
        p = "transformer.h.%d." % i
        q, k, v = lin(ln(x, p + "ln_1"), p + "attn.c_attn").split(C, dim=1)
        q, k, v = (z.view(T, H, C // H).transpose(0, 1) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(0, 1).reshape(T, C)
        x = x + lin(y, p + "attn.c_proj")
        x = x + lin(F.gelu(lin(ln(x, p + "ln_2"), p + "mlp.c_fc")), p + "mlp.c_proj")
    x = ln(x, "transformer.ln_f")
    return (x @ t["lm_head.weight"].t()).tolist()


def forward_python(tensors, meta, tokens, layout):
    """The same forward in plain Python (no numpy): slow, for tiny models where PyTorch is not installed."""
    L, H, C = int(meta["n_layer"]), int(meta["n_head"]), int(meta["n_embd"])
    hs = C // H

    def mat(name):
        shape, flat = tensors[name]
        rows, cols = shape
        return [flat[r * cols : (r + 1) * cols] for r in range(rows)]

    def lin(x, name):
        shape, flat = tensors[name + ".weight"]
        b = tensors.get(name + ".bias")
        out = []
        if layout == "hf":  # (in, out)
            n_in, n_out = shape
            for row in x:
                y = [0.0] * n_out
                for i, xi in enumerate(row):
                    base = i * n_out
                    for o in range(n_out):
                        y[o] += xi * flat[base + o]
                out.append(y)
        else:  # (out, in)
            n_out, n_in = shape
            for row in x:
                out.append([sum(row[i] * flat[o * n_in + i] for i in range(n_in)) for o in range(n_out)])
        if b is not None:
            out = [[v + bb for v, bb in zip(r, b[1])] for r in out]
        return out

    def ln(x, name):
        w = tensors[name + ".weight"][1]
        b = tensors.get(name + ".bias")
        out = []
        for row in x:
            mu = sum(row) / C
            var = sum((v - mu) ** 2 for v in row) / C
            r = [(v - mu) / math.sqrt(var + 1e-5) * w[i] for i, v in enumerate(row)]
            out.append([v + b[1][i] for i, v in enumerate(r)] if b is not None else r)
        return out

    def gelu(v):
        return 0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0)))

    wte, wpe = mat("transformer.wte.weight"), mat("transformer.wpe.weight")
    T = len(tokens)
    x = [[a + b for a, b in zip(wte[tok], wpe[pos])] for pos, tok in enumerate(tokens)]
    for i in range(L):
        p = "transformer.h.%d." % i
        qkv = lin(ln(x, p + "ln_1"), p + "attn.c_attn")
        y = [[0.0] * C for _ in range(T)]
        for h in range(H):
            for t in range(T):
                q = qkv[t][h * hs : (h + 1) * hs]
                scores = [sum(a * b for a, b in zip(q, qkv[s][C + h * hs : C + (h + 1) * hs])) / math.sqrt(hs) for s in range(t + 1)]
                m = max(scores)
                e = [math.exp(s - m) for s in scores]
                z = sum(e)
                for s in range(t + 1):
                    v = qkv[s][2 * C + h * hs : 2 * C + (h + 1) * hs]
                    for d in range(hs):
                        y[t][h * hs + d] += e[s] / z * v[d]
        x = [[a + b for a, b in zip(r1, r2)] for r1, r2 in zip(x, lin(y, p + "attn.c_proj"))]
        hmid = [[gelu(v) for v in r] for r in lin(ln(x, p + "ln_2"), p + "mlp.c_fc")]
        x = [[a + b for a, b in zip(r1, r2)] for r1, r2 in zip(x, lin(hmid, p + "mlp.c_proj"))]
    x = ln(x, "transformer.ln_f")
    head = mat("lm_head.weight")
    return [[sum(a * b for a, b in zip(row, w)) for w in head] for row in x]


def forward_hf(path, meta, tokens):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    cfg = GPT2Config(vocab_size=int(meta["padded_vocab_size"]), n_positions=int(meta["block_size"]),
                     n_embd=int(meta["n_embd"]), n_layer=int(meta["n_layer"]), n_head=int(meta["n_head"]),
                     activation_function="gelu", resid_pdrop=0, embd_pdrop=0, attn_pdrop=0, layer_norm_epsilon=1e-5)
    model = GPT2LMHeadModel(cfg).eval()
    tensors, _ = read_safetensors(path)
    state = {k: torch.tensor(v, dtype=torch.float32).view(*s) for k, (s, v) in tensors.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if not m.endswith("attn.bias") and not m.endswith("masked_bias")]
    if missing or unexpected:
        sys.exit("HF load: missing %s, unexpected %s" % (missing, unexpected))
    with torch.no_grad():
        return model(torch.tensor([tokens])).logits[0].tolist()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("logits")
    ap.add_argument("--layout", choices=["nanogpt", "hf"], default=None, help="default: the file's metadata")
    ap.add_argument("--hf", action="store_true", help="also load into transformers' GPT2LMHeadModel")
    ap.add_argument("--tol", type=float, default=1e-3)
    a = ap.parse_args()

    tensors, meta = read_safetensors(a.model)
    layout = a.layout or meta.get("layout", "nanogpt")
    dump, _ = read_safetensors(a.logits)
    tokens = [int(v) for v in dump["tokens"][1]]
    shape, flat = dump["logits"]
    V = shape[-1]
    ours = [flat[i * V : (i + 1) * V] for i in range(len(tokens))]
    try:
        import torch  # noqa: F401
        ref, backend = forward_torch(tensors, meta, tokens, layout), "torch"
    except ImportError:
        ref, backend = forward_python(tensors, meta, tokens, layout), "python"
    diff = max(abs(x - y) for r1, r2 in zip(ours, ref) for x, y in zip(r1, r2))
    print("layout %s, %d tokens, vocab %d, reference %s: max |logits diff| = %.3g" % (layout, len(tokens), V, backend, diff))
    ok = diff <= a.tol
    if a.hf:
        hf = forward_hf(a.model, meta, tokens)
        hdiff = max(abs(x - y) for r1, r2 in zip(ours, hf) for x, y in zip(r1, r2))
        print("transformers GPT2LMHeadModel: max |logits diff| = %.3g" % hdiff)
        ok = ok and hdiff <= a.tol
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
