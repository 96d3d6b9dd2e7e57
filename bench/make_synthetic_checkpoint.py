#!/usr/bin/env python3
"""Writes a synthetic Qwen3-Next- or Llama-shaped base/SFT pair of sharded bf16 safetensors for benchmarks.

Standard library only. SFT gets random bytes (so nothing compresses or deduplicates); base gets the
same header with a sparse, all-zero data section (it costs no disk, and restore reads only its Q/K
rows), or random bytes too with --dense-base (a real base: its Q/K pages must come from the page cache
or the disk like SFT's). Usage: make_synthetic_checkpoint.py OUT_DIR [--family qwen3_next|llama] [--gb 8]
         [--hidden 4096] [--shard-gb 2] [--heads 32 --kv-heads 8 --head-dim 128 --global-every 4] [--dense-base]
(--global-every applies to qwen3_next; every llama layer is global attention.)
"""
import argparse
import json
import os
import struct


def layer_tensors(i, a, kind):
    h, hd, nh, nkv, inter = a.hidden, a.head_dim, a.heads, a.kv_heads, a.intermediate
    p = f"model.layers.{i}."
    t = {p + "input_layernorm.weight": [h], p + "post_attention_layernorm.weight": [h]}
    if a.family == "llama":
        t.update({p + "self_attn.q_proj.weight": [nh * hd, h], p + "self_attn.k_proj.weight": [nkv * hd, h],
                  p + "self_attn.v_proj.weight": [nkv * hd, h], p + "self_attn.o_proj.weight": [h, nh * hd]})
    elif kind == "full_attention":
        t.update({p + "self_attn.q_proj.weight": [2 * nh * hd, h], p + "self_attn.k_proj.weight": [nkv * hd, h],
                  p + "self_attn.v_proj.weight": [nkv * hd, h], p + "self_attn.o_proj.weight": [h, nh * hd],
                  p + "self_attn.q_norm.weight": [hd], p + "self_attn.k_norm.weight": [hd]})
    else:
        kd, vd, nk, nv = 128, 128, 16, 32
        t.update({p + "linear_attn.in_proj_qkvz.weight": [2 * nk * kd + 2 * nv * vd, h],
                  p + "linear_attn.in_proj_ba.weight": [2 * nv, h], p + "linear_attn.conv1d.weight": [2 * nk * kd + nv * vd, 1, 4],
                  p + "linear_attn.dt_bias": [nv], p + "linear_attn.A_log": [nv], p + "linear_attn.norm.weight": [vd],
                  p + "linear_attn.out_proj.weight": [h, nv * vd]})
    t.update({p + "mlp.gate_proj.weight": [inter, h], p + "mlp.up_proj.weight": [inter, h], p + "mlp.down_proj.weight": [h, inter]})
    return t


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--family", choices=["qwen3_next", "llama"], default="qwen3_next")
    ap.add_argument("--dense-base", action="store_true", help="random bytes in base too (default: sparse zeros)")
    ap.add_argument("--gb", type=float, default=8.0)
    ap.add_argument("--hidden", type=int, default=4096)
    ap.add_argument("--heads", type=int, default=32)
    ap.add_argument("--kv-heads", type=int, default=8)
    ap.add_argument("--head-dim", type=int, default=128)
    ap.add_argument("--intermediate", type=int, default=11008)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--global-every", type=int, default=4)
    ap.add_argument("--shard-gb", type=float, default=2.0)
    a = ap.parse_args()

    tensors = {"model.embed_tokens.weight": [a.vocab, a.hidden]}
    layer_types = []
    while sum(numel(s) for s in tensors.values()) * 2 < a.gb * 1e9:
        i = len(layer_types)
        kind = "full_attention" if a.family == "llama" or (i + 1) % a.global_every == 0 else "linear_attention"
        layer_types.append(kind)
        tensors.update(layer_tensors(i, a, kind))
    tensors.update({"model.norm.weight": [a.hidden], "lm_head.weight": [a.vocab, a.hidden]})

    shards, current, size = [], {}, 0
    for name, shape in tensors.items():
        nbytes = numel(shape) * 2
        if current and size + nbytes > a.shard_gb * 1e9:
            shards.append(current)
            current, size = {}, 0
        current[name] = shape
        size += nbytes
    shards.append(current)

    config = {"hidden_size": a.hidden, "num_hidden_layers": len(layer_types), "num_attention_heads": a.heads,
              "num_key_value_heads": a.kv_heads, "head_dim": a.head_dim, "intermediate_size": a.intermediate,
              "vocab_size": a.vocab, "dtype": "bfloat16"}
    if a.family == "llama":
        config.update({"architectures": ["LlamaForCausalLM"], "model_type": "llama"})
    else:
        config.update({"architectures": ["Qwen3NextForCausalLM"], "model_type": "qwen3_next", "layer_types": layer_types,
                       "partial_rotary_factor": 0.25})
    for which in ("base", "sft"):
        d = os.path.join(a.out, which)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
        weight_map, total = {}, 0
        for k, shard in enumerate(shards):
            fname = f"model-{k + 1:05d}-of-{len(shards):05d}.safetensors"
            header, offset = {"__metadata__": {"format": "pt"}}, 0
            for name, shape in shard.items():
                header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + numel(shape) * 2]}
                offset += numel(shape) * 2
                weight_map[name] = fname
            text = json.dumps(header).encode()
            text += b" " * ((8 - len(text) % 8) % 8)
            path = os.path.join(d, fname)
            with open(path, "wb") as f:
                f.write(struct.pack("<Q", len(text)) + text)
                if which == "sft" or a.dense_base:
                    remaining = offset
                    while remaining:
                        n = min(remaining, 64 << 20)
                        f.write(os.urandom(n))
                        remaining -= n
                else:
                    f.truncate(8 + len(text) + offset)  # sparse zeros
            total += offset
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    print(f"{a.out}: {len(layer_types)} layers ({layer_types.count('full_attention')} global), {len(shards)} shards, "
          f"{total / 1e9:.2f} GB per checkpoint")


if __name__ == "__main__":
    main()
