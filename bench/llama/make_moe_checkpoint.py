#!/usr/bin/env python3
"""Writes the benchmark's 397M-parameter qwen3_next MoE as a Hugging Face directory with random bf16 weights.

Shape (issue 26): 12 layers, full attention at 3/7/11, hidden 1024, 16 experts of 512 (top 4) and a shared
expert of 1024, 8 query heads x 128 on 2 KV heads, Gated DeltaNet 4 key / 8 value heads x 128, vocab 4096
(models/base's tokenizer). Experts fused as transformers 5 stores them (experts.gate_up_proj, down_proj).
Weights ~ N(0, 0.02), norms 0 (zero-centred: scale 1), A_log = log(U(1, 16)), dt_bias ~ N(0, 0.5): the
distribution of an initialised model, so the greedy tokens of two implementations can be compared.
Needs numpy (Debian: python3-numpy). Usage: make_moe_checkpoint.py OUT_DIR [--seed 7]
"""
import argparse
import json
import os
import shutil

import numpy as np

CONFIG = {
    "architectures": ["Qwen3NextForCausalLM"], "model_type": "qwen3_next", "dtype": "bfloat16",
    "vocab_size": 4096, "hidden_size": 1024, "num_hidden_layers": 12, "full_attention_interval": 4,
    "layer_types": ["full_attention" if (i + 1) % 4 == 0 else "linear_attention" for i in range(12)],
    "num_attention_heads": 8, "num_key_value_heads": 2, "head_dim": 128,
    "linear_num_key_heads": 4, "linear_num_value_heads": 8, "linear_key_head_dim": 128,
    "linear_value_head_dim": 128, "linear_conv_kernel_dim": 4,
    "num_experts": 16, "num_experts_per_tok": 4, "moe_intermediate_size": 512,
    "shared_expert_intermediate_size": 1024, "intermediate_size": 1024, "norm_topk_prob": True,
    "decoder_sparse_step": 1, "mlp_only_layers": [], "hidden_act": "silu", "rms_norm_eps": 1e-6,
    "rope_parameters": {"rope_type": "default", "rope_theta": 1e6, "partial_rotary_factor": 0.25},
    "partial_rotary_factor": 0.25, "max_position_embeddings": 65536, "tie_word_embeddings": False,
    "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 0, "attention_bias": False,
}


def tensor_shapes(c):
    h, v, e, ei, si = c["hidden_size"], c["vocab_size"], c["num_experts"], c["moe_intermediate_size"], c["shared_expert_intermediate_size"]
    nh, nkv, hd = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
    nk, nv, dk, dv, k = (c["linear_num_key_heads"], c["linear_num_value_heads"], c["linear_key_head_dim"],
                         c["linear_value_head_dim"], c["linear_conv_kernel_dim"])
    shapes = {"model.embed_tokens.weight": [v, h], "lm_head.weight": [v, h], "model.norm.weight": [h]}
    for i, kind in enumerate(c["layer_types"]):
        p = f"model.layers.{i}."
        shapes.update({p + "input_layernorm.weight": [h], p + "post_attention_layernorm.weight": [h]})
        if kind == "full_attention":
            a = p + "self_attn."
            shapes.update({a + "q_proj.weight": [2 * nh * hd, h], a + "k_proj.weight": [nkv * hd, h],
                           a + "v_proj.weight": [nkv * hd, h], a + "o_proj.weight": [h, nh * hd],
                           a + "q_norm.weight": [hd], a + "k_norm.weight": [hd]})
        else:
            a = p + "linear_attn."
            shapes.update({a + "in_proj_qkvz.weight": [2 * nk * dk + 2 * nv * dv, h], a + "in_proj_ba.weight": [2 * nv, h],
                           a + "conv1d.weight": [2 * nk * dk + nv * dv, 1, k], a + "dt_bias": [nv], a + "A_log": [nv],
                           a + "norm.weight": [dv], a + "out_proj.weight": [h, nv * dv]})
        m = p + "mlp."
        shapes.update({m + "gate.weight": [e, h], m + "experts.gate_up_proj": [e, 2 * ei, h], m + "experts.down_proj": [e, h, ei],
                       m + "shared_expert.gate_proj.weight": [si, h], m + "shared_expert.up_proj.weight": [si, h],
                       m + "shared_expert.down_proj.weight": [h, si], m + "shared_expert_gate.weight": [1, h]})
    return shapes


def to_bf16(values):
    """float32 -> bf16 bits, round to nearest even (values are finite)."""
    bits = values.astype(np.float32).view(np.uint32)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def values_for(name, shape, rng):
    n = int(np.prod(shape))
    if name.endswith("norm.weight"):
        # zero-centred RMSNorm weights (scale 1 + w); the gated norm of the delta rule uses w itself
        return np.ones(n, np.float32) if name.endswith("linear_attn.norm.weight") else np.zeros(n, np.float32)
    if name.endswith("A_log"):
        return np.log(rng.uniform(1, 16, n)).astype(np.float32)
    if name.endswith("dt_bias"):
        return rng.normal(0, 0.5, n).astype(np.float32)
    return rng.standard_normal(n, dtype=np.float32) * np.float32(0.02)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    shapes = tensor_shapes(CONFIG)
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in shapes.items():
        size = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    tmp = os.path.join(args.out, "model.safetensors.tmp")
    with open(tmp, "wb") as f:
        f.write(len(blob).to_bytes(8, "little") + blob)
        for name, shape in shapes.items():
            f.write(to_bf16(values_for(name, shape, rng)).tobytes())
    os.replace(tmp, os.path.join(args.out, "model.safetensors"))
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
    with open(os.path.join(args.out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 0, "eos_token_id": 2}, f)
    models = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models", "base")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(models, name), os.path.join(args.out, name))
    params = sum(int(np.prod(s)) for s in shapes.values())
    print(f"{args.out}: {params / 1e6:.1f}M parameters, {offset / 1e6:.0f} MB of bf16")


if __name__ == "__main__":
    main()
