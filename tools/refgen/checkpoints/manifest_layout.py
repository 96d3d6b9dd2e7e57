#!/usr/bin/env python3
"""Adds manifest["global_attention"]: per global layer, the row layout of its query/key tensors.

Row counts alone mislead: Zamba2's q_proj has 64 rows = 2 * 4 heads * 8 (hidden/heads), which looks
like a Qwen3-Next gated q_proj, but its real head_dim is 16 (attention_head_dim), so it is plain.
The layout is therefore derived from the attention module's own head_dim / num_heads recorded by
make_checkpoints.py (or, for the two custom-code families, from their config.json):
  plain       q rows = heads*hd, k rows = kv*hd
  gated       q rows = 2*heads*hd: head h query rows [2h*hd, 2h*hd+hd), then hd output-gate rows
  fused_qkv   one qkv_proj: rows [0, heads*hd) query, [heads*hd, (heads+kv)*hd) key, the rest value
  mla         multi-head latent attention (q_proj / kv_a_proj_with_mqa / kv_b_proj)
Pure JSON: usable without torch. usage: manifest_layout.py ROOT  (rewrites ROOT/*/manifest.json)
"""
import json
import os
import sys


def layout_of(attn, cfg_keys):
    heads = attn.get("num_heads") or cfg_keys.get("num_attention_heads")
    hd = attn.get("head_dim")
    by_role = {t["role"]: t for t in attn["tensors"] if t.get("role")}
    out = dict(module=attn.get("module"), cls=attn.get("cls"), num_heads=heads, head_dim=hd)
    if "mla_kv_a (k_rope rows + kv latent)" in by_role:
        out.update(layout="mla", num_kv_heads=heads, head_dim=None,
                   q_rows=by_role["q_weight"]["shape"][0] if "q_weight" in by_role else None)
        return out
    if "fused_qkv_weight" in by_role:
        rows = by_role["fused_qkv_weight"]["shape"][0]
        kv = (rows - heads * hd) // (2 * hd)
        out.update(layout="fused_qkv", num_kv_heads=kv, query_rows=[0, heads * hd],
                   key_rows=[heads * hd, (heads + kv) * hd], value_rows=[(heads + kv) * hd, rows])
        return out
    q_rows = by_role["q_weight"]["shape"][0]
    kv = by_role["k_weight"]["shape"][0] // hd
    if q_rows == 2 * heads * hd:
        out.update(layout="gated", num_kv_heads=kv,
                   query_rows=[[2 * h * hd, 2 * h * hd + hd] for h in range(heads)],
                   gate_rows=[[2 * h * hd + hd, 2 * h * hd + 2 * hd] for h in range(heads)])
    elif q_rows == heads * hd:
        out.update(layout="plain", num_kv_heads=kv)
    else:
        raise ValueError(f"{attn.get('module')}: q_proj has {q_rows} rows, not {heads}*{hd} or twice that")
    return out


def annotate(m, config_json):
    """config_json: the pair's base/config.json (text_config entries take precedence)."""
    cfg = dict({k: v for k, v in config_json.items() if k != "text_config"}, **config_json.get("text_config", {}))
    ga = {}
    for row in m["layers"]:
        if row["kind"] != "global":
            continue
        if "attention" in row:  # made by transformers: module facts recorded
            ga[str(row["index"])] = layout_of(row["attention"][0], cfg)
        else:  # custom-code family: plain Qwen-style projections, dims from config.json
            heads = cfg["num_attention_heads"]
            ga[str(row["index"])] = dict(layout="plain", num_heads=heads, num_kv_heads=cfg["num_key_value_heads"],
                                         head_dim=cfg.get("head_dim") or cfg["hidden_size"] // heads)
    m["global_attention"] = ga
    return m


def main():
    root = sys.argv[1]
    for name in sorted(os.listdir(root)):
        p = os.path.join(root, name, "manifest.json")
        if not os.path.isfile(p):
            continue
        with open(p) as f:
            m = json.load(f)
        with open(os.path.join(root, name, "base", "config.json")) as f:
            c = json.load(f)
        with open(p, "w") as f:
            json.dump(annotate(m, c), f, indent=1, default=str)
        print(name, {k: v["layout"] for k, v in m["global_attention"].items()})


if __name__ == "__main__":
    main()
