#!/usr/bin/env python3
"""Writes a synthetic base/SFT pair shaped like Qwen3-Next-80B-A3B's global attention layers.

hidden 2048, 16 query heads and 2 KV heads of dim 256 (gated q_proj: 2 * 16 * 256 rows),
partial RoPE 0.25, q/k norms, 48 layers of which every 4th (12) is full attention. Only the
attention tensors are real-sized: the linear-attention layers and the MoE blocks are left out
(each linear layer keeps its input norm), so restore has the least I/O to do and the ratio
procrustes/restore is the worst case. bf16 values are Gaussian (std 0.02) drawn once into a pool
and tiled at random offsets: the bench times the surgery, not the statistics of the weights.

Standard library only.  Usage: procrustes_bench_gen.py OUT_DIR [--layers 48]
"""
import argparse
import json
import math
import os
import random
import struct

HIDDEN, HEADS, KV_HEADS, HEAD_DIM, VOCAB = 2048, 16, 2, 256, 1024


def bf16_pool(count, rng):
    # float32 -> bf16 by keeping the high 16 bits after round-to-nearest-even
    out = bytearray()
    for _ in range(count):
        bits = struct.unpack("<I", struct.pack("<f", rng.gauss(0.0, 0.02)))[0]
        bits += 0x7FFF + ((bits >> 16) & 1)
        out += struct.pack("<H", (bits >> 16) & 0xFFFF)
    return bytes(out)


def tensor_bytes(elements, pool, rng):
    need, parts = elements * 2, []
    while need > 0:
        take = min(need, len(pool) // 2) & ~1
        start = rng.randrange(0, (len(pool) - take) // 2 + 1) * 2
        parts.append(pool[start:start + take])
        need -= take
    return b"".join(parts)


def layer_tensors(layers, interval):
    names = [("model.embed_tokens.weight", [VOCAB, HIDDEN])]
    for i in range(layers):
        p = f"model.layers.{i}."
        names.append((p + "input_layernorm.weight", [HIDDEN]))
        if (i + 1) % interval:
            continue
        names += [(p + "self_attn.q_proj.weight", [2 * HEADS * HEAD_DIM, HIDDEN]),
                  (p + "self_attn.k_proj.weight", [KV_HEADS * HEAD_DIM, HIDDEN]),
                  (p + "self_attn.v_proj.weight", [KV_HEADS * HEAD_DIM, HIDDEN]),
                  (p + "self_attn.o_proj.weight", [HIDDEN, HEADS * HEAD_DIM]),
                  (p + "self_attn.q_norm.weight", [HEAD_DIM]),
                  (p + "self_attn.k_norm.weight", [HEAD_DIM])]
    names += [("model.norm.weight", [HIDDEN]), ("lm_head.weight", [VOCAB, HIDDEN])]
    return names


def write_checkpoint(path, config, tensors, pool, rng, same_as=None):
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in tensors:
        size = math.prod(shape) * 2
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":"))
    text += " " * (-len(text) % 8)
    with open(os.path.join(path, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text.encode())
        for name, shape in tensors:
            # SFT differs from base in every tensor: fresh draws from the pool.
            f.write(tensor_bytes(math.prod(shape), pool, rng))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--layers", type=int, default=48)
    parser.add_argument("--interval", type=int, default=4)
    args = parser.parse_args()
    rng = random.Random(1234)
    pool = bf16_pool(1 << 21, rng)
    config = {
        "architectures": ["Qwen3NextForCausalLM"], "model_type": "qwen3_next", "hidden_size": HIDDEN,
        "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS, "head_dim": HEAD_DIM,
        "num_hidden_layers": args.layers, "full_attention_interval": args.interval,
        "layer_types": ["full_attention" if (i + 1) % args.interval == 0 else "linear_attention" for i in range(args.layers)],
        "partial_rotary_factor": 0.25, "rope_parameters": {"rope_type": "default", "rope_theta": 10000000.0, "partial_rotary_factor": 0.25},
        "vocab_size": VOCAB, "torch_dtype": "bfloat16", "tie_word_embeddings": False,
        "_comment": "synthetic bench checkpoint (bench/procrustes_bench_gen.py): attention tensors only",
    }
    tensors = layer_tensors(args.layers, args.interval)
    for side in ("base", "sft"):
        write_checkpoint(os.path.join(args.out, side), config, tensors, pool, rng)
    print(f"wrote {args.out}/base and {args.out}/sft ({sum(math.prod(s) for _, s in tensors) * 2 / 1e6:.0f} MB each)")


if __name__ == "__main__":
    main()
