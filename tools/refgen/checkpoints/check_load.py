#!/usr/bin/env python3
"""Check checkpoints restored by qkrestore, as transformers itself loads them.

For every pair in the reference tree (testdata/checkpoints/<name>/{base,sft,manifest.json}) whose
manifest names a transformers class, load base, sft and the restored checkpoint with that class
(from_pretrained of the local directory, trust_remote_code=False) and compare every tensor of the
loaded models with torch.equal:
  - query/key weights of the global layers (manifest global_qk_tensors) must equal base's; a gated
    q_proj (rows: per head hd query rows then hd gate rows) must have base query rows and sft gate rows
    (or be entirely base, reported as such); a fused qkv_proj must have base Q/K rows and sft V rows;
  - q/k biases, q/k norms and sinks: reported, and checked only with --extras base|sft (policy open);
  - MLA pieces (kv_a_proj_with_mqa, kv_b_proj mix key and value rows): reported only;
  - every other tensor must equal sft's.
A tensor whose dtype differs from the reference is compared after casting the reference to it.
The two custom-code families (no transformers class) are skipped.

usage: check_load.py REFERENCE_ROOT RESTORED_ROOT [--subdir DIR] [--extras either|base|sft] [names...]
  the restored checkpoint of <name> is RESTORED_ROOT/<name>/<DIR> with --subdir, else
  RESTORED_ROOT/<name> when it holds config.json, else RESTORED_ROOT/<name>/restored.
  Pointing RESTORED_ROOT at the reference itself with --subdir sft must report the Q/K mismatch.
"""
import argparse
import json
import os
import sys

import torch
import transformers

CHECKED_QK = {"q_weight", "k_weight", "fused_qkv_weight", "fused_qkv_bias", "q_adapter", "k_adapter"}
EXTRAS = {"q_bias", "k_bias", "q_norm", "k_norm", "sinks"}


def load(cls, d):
    try:
        m = cls.from_pretrained(d, dtype="auto", trust_remote_code=False)
    except TypeError:
        m = cls.from_pretrained(d, torch_dtype="auto", trust_remote_code=False)
    return {k: v.detach().cpu() for k, v in m.state_dict().items()}, m.config


def same(a, ref):
    return a.shape == ref.shape and torch.equal(a, ref.to(a.dtype))


def row_blocks(t, blocks):
    """t split into consecutive row blocks of the given sizes (the rest of the rows last)."""
    out, start = [], 0
    for n in blocks:
        out.append(t[start:start + n])
        start += n
    return out


def status(r, b, s):
    if same(r, b):
        return "base"
    if same(r, s):
        return "sft"
    return "neither"


def gated_q_status(r, b, s, lay):
    """Qwen3-Next style q_proj: for head h rows [2h*hd, 2h*hd+hd) query, next hd rows its output gate."""
    q_idx = torch.cat([torch.arange(lo, hi) for lo, hi in lay["query_rows"]])
    g_idx = torch.cat([torch.arange(lo, hi) for lo, hi in lay["gate_rows"]])
    q_ok = same(r[q_idx], b[q_idx])
    g_sft = same(r[g_idx], s[g_idx])
    g_base = same(r[g_idx], b[g_idx])
    if q_ok and g_sft:
        return "query-rows-base,gate-rows-sft"
    if q_ok and g_base:
        return "base"
    return "sft" if same(r, s) else "neither"


def fused_status(r, b, s, lay):
    """Fused qkv_proj (Phi-3): rows [0,q) query, [q,q+k) key, the rest value."""
    q_rows = lay["query_rows"][1]
    k_rows = lay["key_rows"][1] - q_rows
    rq, rk, rv = row_blocks(r, [q_rows, k_rows, r.shape[0] - q_rows - k_rows])
    bq, bk, _ = row_blocks(b, [q_rows, k_rows, b.shape[0] - q_rows - k_rows])
    _, _, sv = row_blocks(s, [q_rows, k_rows, s.shape[0] - q_rows - k_rows])
    if same(rq, bq) and same(rk, bk) and same(rv, sv):
        return "qk-rows-base,v-rows-sft"
    return status(r, b, s)


def check_pair(ref_dir, restored_dir, manifest, extras):
    cls = getattr(transformers, manifest["transformers_class"])
    base, _ = load(cls, os.path.join(ref_dir, "base"))
    sft, _ = load(cls, os.path.join(ref_dir, "sft"))
    rest, _ = load(cls, restored_dir)
    # row layouts come from the manifest (the attention module's own head_dim), never from row counts
    roles, lays = {}, {}
    for layer, entries in manifest["global_qk_tensors"].items():
        for e in entries:
            key = e.get("module_name") or e["saved_name"]
            roles[key] = e["role"]
            lays[key] = manifest["global_attention"][layer]
    rows, failures = [], []
    if set(rest) != set(base):
        failures.append(f"tensor names differ: missing {sorted(set(base) - set(rest))[:5]} "
                        f"extra {sorted(set(rest) - set(base))[:5]}")
    for k in sorted(set(rest) & set(base)):
        r, b, s = rest[k], base[k], sft[k]
        role = roles.get(k)
        if role == "q_weight" and lays[k]["layout"] == "gated":
            st = gated_q_status(r, b, s, lays[k])
            ok = st in ("query-rows-base,gate-rows-sft", "base")
        elif role in ("fused_qkv_weight", "fused_qkv_bias"):
            st = fused_status(r, b, s, lays[k])
            ok = st == "qk-rows-base,v-rows-sft"
        elif role in CHECKED_QK:
            st = status(r, b, s)
            ok = st == "base"
        elif role in EXTRAS:
            st = status(r, b, s)
            ok = st != "neither" if extras == "either" else st == extras
        elif role is not None:  # MLA: key and value rows share tensors; policy open, report only
            st = status(r, b, s)
            ok = True
        else:
            st = status(r, b, s)
            ok = st == "sft"
        rows.append((k, role or "-", st, ok))
        if not ok:
            failures.append(f"{k} [{role or 'other'}] is {st}")
    return rows, failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("reference")
    ap.add_argument("restored")
    ap.add_argument("--subdir")
    ap.add_argument("--extras", choices=["either", "base", "sft"], default="either")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("names", nargs="*")
    a = ap.parse_intermixed_args()
    table, bad = [], 0
    for name in sorted(os.listdir(a.reference)):
        mpath = os.path.join(a.reference, name, "manifest.json")
        if not os.path.isfile(mpath) or (a.names and name not in a.names):
            continue
        with open(mpath) as f:
            manifest = json.load(f)
        if not manifest.get("transformers_class"):
            table.append((name, "skipped (custom code)", "", "", ""))
            continue
        if a.subdir:
            rd = os.path.join(a.restored, name, a.subdir)
        elif os.path.isfile(os.path.join(a.restored, name, "config.json")):
            rd = os.path.join(a.restored, name)
        else:
            rd = os.path.join(a.restored, name, "restored")
        if not os.path.isdir(rd):
            table.append((name, "MISSING", rd, "", ""))
            bad += 1
            continue
        try:
            rows, failures = check_pair(os.path.join(a.reference, name), rd, manifest, a.extras)
        except Exception as e:
            table.append((name, "LOAD ERROR", repr(e)[:200], "", ""))
            bad += 1
            continue
        qk = [r for r in rows if r[1] != "-"]
        other = [r for r in rows if r[1] == "-"]
        table.append((name, "ok" if not failures else "FAIL",
                      f"qk {sum(r[3] for r in qk)}/{len(qk)}", f"other-sft {sum(r[3] for r in other)}/{len(other)}",
                      "; ".join(failures[:3]) + (f" (+{len(failures) - 3} more)" if len(failures) > 3 else "")))
        bad += bool(failures)
        if a.verbose:
            for r in rows:
                print(f"   {name:28s} {r[0]:70s} {r[1]:18s} {r[2]}{'' if r[3] else '  <-- FAIL'}")
    w = max([len(t[0]) for t in table] + [4])
    print(f"{'name':{w}s}  result      qk-checks      others               first failures")
    for t in table:
        print(f"{t[0]:{w}s}  {t[1]:10s}  {t[2]:13s}  {t[3]:19s}  {t[4]}")
    print(f"{bad} of {len(table)} failed")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
