#!/usr/bin/env python3
"""Plain-Python QK-Restore over the reference pairs: the oracle check_load.py is tested against.

For each pair with a manifest: copy sft/ to OUT/<name>/ (config, index, shard layout and metadata
unchanged) and, in the global layers named by the manifest, overwrite with base's values (cast to the
sft dtype): q/k projection weights, fused-QKV Q/K rows, only the query rows of a gated q_proj, and the
q/k adapters. Biases, q/k norms, sinks and MLA pieces stay sft (their policy is open).

usage: ref_restore.py REFERENCE_ROOT OUT_ROOT
"""
import json
import os
import shutil
import sys

import torch
from safetensors import safe_open
from safetensors.torch import save_file

ROW_SPLIT = {"q_weight", "k_weight", "fused_qkv_weight", "fused_qkv_bias", "q_adapter", "k_adapter"}


def read_dir(d):
    files = {}
    for f in sorted(os.listdir(d)):
        if f.endswith(".safetensors"):
            with safe_open(os.path.join(d, f), framework="pt") as h:
                files[f] = ({k: h.get_tensor(k) for k in h.keys()}, h.metadata())
    return files


def restored_tensor(role, lay, b, s):
    """lay: the layer's manifest global_attention entry (row layout, see manifest_layout.py)."""
    b = b.to(s.dtype)
    out = s.clone()
    if role == "q_weight" and lay["layout"] == "gated":  # only the query rows of each head
        for lo, hi in lay["query_rows"]:
            out[lo:hi] = b[lo:hi]
    elif role in ("fused_qkv_weight", "fused_qkv_bias"):  # query rows then key rows; value rows stay
        out[:lay["key_rows"][1]] = b[:lay["key_rows"][1]]
    else:
        out.copy_(b)
    return out


def main():
    ref, out = sys.argv[1], sys.argv[2]
    for name in sorted(os.listdir(ref)):
        mp = os.path.join(ref, name, "manifest.json")
        if not os.path.isfile(mp):
            continue
        with open(mp) as f:
            man = json.load(f)
        roles = {e["saved_name"]: (e["role"], man["global_attention"][layer])
                 for layer, es in man["global_qk_tensors"].items() for e in es
                 if e["saved_name"] and e["role"] in ROW_SPLIT}
        base = {k: v for ts, _ in read_dir(os.path.join(ref, name, "base")).values() for k, v in ts.items()}
        dst = os.path.join(out, name)
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(os.path.join(ref, name, "sft"), dst)
        n = 0
        for f, (ts, meta) in read_dir(dst).items():
            hit = [k for k in ts if k in roles]
            for k in hit:
                ts[k] = restored_tensor(*roles[k], base[k], ts[k]).contiguous()
            if hit:
                save_file(ts, os.path.join(dst, f), metadata=meta)
                n += len(hit)
        print(f"{name}: {n} tensors restored")


if __name__ == "__main__":
    main()
