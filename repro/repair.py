"""Reference repairs in PyTorch, written as patches (tensors that differ from the SFT model).

Used to cross-check `qkrestore` (its restore output must equal `restore` here bit for bit) and to
evaluate variants on the GPU machine without sending full checkpoints. Qwen3-Next's q_proj is gated:
rows [2h*hd, 2h*hd+hd) are head h's query, the next hd rows its output gate (never restored).

  restore      W_Q (query rows) and W_K of every global layer from base (QK-Restore, Algorithm 1)
  q_only / k_only / v_only     ablations: only that projection from base
  layer_L7     restore of one global layer; group_L7g1: of one KV group (its key rows and the query rows of
               the query heads that read it), as `qkrestore restore --heads 7:1` writes it
  blend_A      SFT + A * (restore - SFT) on the same rows (A = 0.25, 0.5, 0.75)
  qkpro        Procrustes variant (shared/notes/method.md): per KV group, the orthogonal O commuting
               with RoPE (one SO(2) block per rotary pair, a free orthogonal block on the non-rotary
               dims) closest to mapping base Q/K onto SFT Q/K; W_Q,h = O W_Q,h^base, W_K,g = O W_K,g^base.
               Keeps base's query-key bilinear forms exactly (q/k norm weights stay SFT's).

    python3 repro/repair.py --base models/base --sft models/cot --out repro/patches/cot
"""
import argparse
import json
import os
import re

import torch
from safetensors.torch import load_file, save_file


def load_dir(d):
    out = {}
    for f in sorted(os.listdir(d)):
        if f.endswith(".safetensors"):
            out.update(load_file(os.path.join(d, f)))
    return out


def query_rows(n_heads, hd):
    return torch.cat([torch.arange(2 * h * hd, 2 * h * hd + hd) for h in range(n_heads)])


def polar(m):
    u, _, vt = torch.linalg.svd(m)
    return u @ vt


def procrustes_o(m, hd, rot):
    """O (hd x hd) maximising tr(O^T M) among orthogonal maps commuting with partial RoPE (rotate_half)."""
    o = torch.zeros(hd, hd, dtype=m.dtype)
    half = rot // 2
    for j in range(half):
        a, b = j, j + half          # HF rotate_half pairs dim j with j + rot/2
        # best rotation [[c, -s], [s, c]] for the 2x2 block [[Maa, Mab], [Mba, Mbb]]
        ang = torch.atan2(m[b, a] - m[a, b], m[a, a] + m[b, b])
        c, s = torch.cos(ang), torch.sin(ang)
        o[a, a], o[a, b], o[b, a], o[b, b] = c, -s, s, c
    o[rot:, rot:] = polar(m[rot:, rot:])
    return o


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--sft", required=True)
    ap.add_argument("--out", required=True, help="prefix; writes PREFIX_<variant>.safetensors")
    ap.add_argument("--variants", nargs="+",
                    default=["restore", "q_only", "k_only", "v_only", "blend_0.25", "blend_0.5", "blend_0.75", "qkpro"])
    args = ap.parse_args()
    cfg = json.load(open(os.path.join(args.base, "config.json")))
    hd, nh, nkv = cfg["head_dim"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    rot = int(hd * cfg.get("rope_parameters", {}).get("partial_rotary_factor", cfg.get("partial_rotary_factor", 1.0)))
    layers = [i for i, t in enumerate(cfg["layer_types"]) if t == "full_attention"]
    base, sft = load_dir(args.base), load_dir(args.sft)
    qr = query_rows(nh, hd)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    report = {}
    for var in args.variants:
        patch = {}
        scope = re.fullmatch(r"(?:layer_L(\d+)|group_L(\d+)g(\d+))", var)
        for li in layers:
            p = f"model.layers.{li}.self_attn."
            if scope:
                layer = int(scope.group(1) or scope.group(2))
                if li != layer:
                    continue
                g = None if scope.group(3) is None else int(scope.group(3))
                heads = range(nh) if g is None else range(g * (nh // nkv), (g + 1) * (nh // nkv))
                q_new, k_new = sft[p + "q_proj.weight"].clone(), sft[p + "k_proj.weight"].clone()
                rows = torch.cat([torch.arange(2 * h * hd, 2 * h * hd + hd) for h in heads])
                q_new[rows] = base[p + "q_proj.weight"][rows]
                krows = torch.arange(nkv * hd) if g is None else torch.arange(g * hd, (g + 1) * hd)
                k_new[krows] = base[p + "k_proj.weight"][krows]
                patch[p + "q_proj.weight"], patch[p + "k_proj.weight"] = q_new.contiguous(), k_new.contiguous()
                continue

            qb, qs = base[p + "q_proj.weight"].float(), sft[p + "q_proj.weight"].float()
            kb, ks = base[p + "k_proj.weight"].float(), sft[p + "k_proj.weight"].float()
            q_new, k_new = qs.clone(), ks.clone()
            if var in ("restore", "q_only") or var.startswith("blend"):
                q_new[qr] = qb[qr]
            if var in ("restore", "k_only") or var.startswith("blend"):
                k_new = kb.clone()
            if var.startswith("blend"):
                a = float(var.split("_")[1])
                q_new = qs + a * (q_new - qs)
                k_new = ks + a * (k_new - ks)
            if var == "v_only":
                patch[p + "v_proj.weight"] = base[p + "v_proj.weight"]
                continue
            if var == "qkpro":
                group = nh // nkv
                for g in range(nkv):
                    heads = range(g * group, (g + 1) * group)
                    qrows = [query_rows(nh, hd)[h * hd:(h + 1) * hd] for h in heads]
                    krows = torch.arange(g * hd, (g + 1) * hd)
                    m = sum(qs[r] @ qb[r].T for r in qrows) + ks[krows] @ kb[krows].T
                    o = procrustes_o(m.double(), hd, rot).float()
                    for r in qrows:
                        q_new[r] = o @ qb[r]
                    k_new[krows] = o @ kb[krows]
                    report.setdefault("qkpro", {})[f"L{li}.g{g}"] = dict(
                        dist_to_sft=sum(((q_new[r] - qs[r]) ** 2).sum().item() for r in qrows) + ((k_new[krows] - ks[krows]) ** 2).sum().item(),
                        restore_dist_to_sft=sum(((qb[r] - qs[r]) ** 2).sum().item() for r in qrows) + ((kb[krows] - ks[krows]) ** 2).sum().item())
            dtype = sft[p + "q_proj.weight"].dtype
            if not torch.equal(q_new.to(dtype), sft[p + "q_proj.weight"]):
                patch[p + "q_proj.weight"] = q_new.to(dtype).contiguous()
            if not torch.equal(k_new.to(dtype), sft[p + "k_proj.weight"]):
                patch[p + "k_proj.weight"] = k_new.to(dtype).contiguous()
        save_file(patch, f"{args.out}_{var}.safetensors")
        print(var, sorted(patch), flush=True)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
