#!/usr/bin/env python3
"""Converts a qwen3_next Hugging Face checkpoint (bf16 safetensors) to a GGUF with llama.cpp's own writer.

llama.cpp's converter (convert_hf_to_gguf.py) needs torch and transformers, which are not Debian packages of
this machine; this script does the same for Qwen3NextForCausalLM with numpy and gguf-py (llama.cpp's GGUF
library, taken from the llama.cpp sources node-llama-cpp ships): the metadata of TextModel, Qwen2MoeModel
and Qwen3NextModel.set_gguf_parameters, their tensor renames and edits (conversion/qwen.py:
A_log -> -exp(A_log), dt_bias -> dt_proj.bias, conv1d squeezed, zero-centred norms + 1, in_proj_qkvz split
into attn_qkv and attn_gate with the heads regrouped, experts stacked), their dtype rules (1-D tensors,
norms, routers and conv1d in F32, every other matrix in the output type), and a gpt2-style BPE vocabulary
from tokenizer.json. Usage: safetensors_to_gguf.py MODEL_DIR OUT.gguf --gguf-py DIR [--outtype bf16|f32]
"""
import argparse
import json
import os
import sys

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = data[begin:end]
        if info["dtype"] == "BF16":
            values = (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif info["dtype"] == "F32":
            values = raw.view(np.float32)
        else:
            sys.exit(f"{path}: tensor {name} has dtype {info['dtype']}; this converter reads BF16 and F32")
        tensors[name] = values.reshape(info["shape"])
    return tensors


def bf16_bits(values):
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--gguf-py", required=True, help="llama.cpp's gguf-py directory")
    ap.add_argument("--outtype", choices=["bf16", "f32"], default="bf16")
    args = ap.parse_args()
    sys.path.insert(0, args.gguf_py)
    import gguf

    c = json.load(open(os.path.join(args.model, "config.json")))
    if c.get("model_type") != "qwen3_next":
        sys.exit(f"{args.model}: model_type {c.get('model_type')!r}, this converter writes qwen3_next only")
    t = read_safetensors(os.path.join(args.model, "model.safetensors"))
    arch = gguf.MODEL_ARCH.QWEN3NEXT
    n_layers = c["num_hidden_layers"]
    names = gguf.get_tensor_name_map(arch, n_layers)
    w = gguf.GGUFWriter(args.out, gguf.MODEL_ARCH_NAMES[arch])
    ftype = gguf.LlamaFileType.MOSTLY_BF16 if args.outtype == "bf16" else gguf.LlamaFileType.ALL_F32

    # TextModel.set_gguf_parameters
    w.add_block_count(n_layers)
    w.add_context_length(c["max_position_embeddings"])
    w.add_embedding_length(c["hidden_size"])
    w.add_feed_forward_length(c["intermediate_size"])
    w.add_head_count(c["num_attention_heads"])
    w.add_head_count_kv(c["num_key_value_heads"])
    rope = c.get("rope_parameters", {})
    w.add_rope_freq_base(rope.get("rope_theta", c.get("rope_theta", 10000.0)))
    w.add_layer_norm_rms_eps(c["rms_norm_eps"])
    w.add_expert_count(c["num_experts"])
    w.add_expert_used_count(c["num_experts_per_tok"])
    w.add_key_length(c["head_dim"])
    w.add_value_length(c["head_dim"])
    w.add_file_type(ftype)
    # Qwen2MoeModel / Qwen3NextModel.set_gguf_parameters
    w.add_expert_feed_forward_length(c["moe_intermediate_size"])
    w.add_expert_shared_feed_forward_length(c["shared_expert_intermediate_size"])
    w.add_ssm_conv_kernel(c["linear_conv_kernel_dim"])
    w.add_ssm_state_size(c["linear_key_head_dim"])
    w.add_ssm_group_count(c["linear_num_key_heads"])
    w.add_ssm_time_step_rank(c["linear_num_value_heads"])
    w.add_ssm_inner_size(c["linear_value_head_dim"] * c["linear_num_value_heads"])
    w.add_full_attention_interval(c.get("full_attention_interval", 4))
    w.add_rope_dimension_count(int(c["head_dim"] * rope.get("partial_rotary_factor", c.get("partial_rotary_factor", 0.25))))

    # Vocabulary: byte-level BPE as llama.cpp's gpt2 tokenizer model, Qwen2 pre-tokenizer.
    tok = json.load(open(os.path.join(args.model, "tokenizer.json")))
    vocab = dict(tok["model"]["vocab"])
    added = {a["content"]: a["id"] for a in tok.get("added_tokens", [])}
    vocab.update(added)
    by_id = {i: s for s, i in vocab.items()}
    tokens, types = [], []
    for i in range(c["vocab_size"]):
        s = by_id.get(i, f"[PAD{i}]")
        tokens.append(s)
        types.append(gguf.TokenType.CONTROL if s in added else gguf.TokenType.NORMAL if i in by_id else gguf.TokenType.UNUSED)
    merges = [" ".join(m) if isinstance(m, list) else m for m in tok["model"]["merges"]]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_eos_token_id(c["eos_token_id"])
    w.add_bos_token_id(c["bos_token_id"])
    w.add_pad_token_id(c["pad_token_id"])
    w.add_add_bos_token(False)

    forced_f32 = (gguf.MODEL_TENSOR.FFN_GATE_INP, gguf.MODEL_TENSOR.FFN_GATE_INP_SHEXP, gguf.MODEL_TENSOR.SSM_CONV1D)

    def add(hf_name, values, bid=None):
        new = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if new is None:
            sys.exit(f"no GGUF name for {hf_name}")
        f32 = (values.ndim <= 1 or new.endswith("_norm.weight") or args.outtype == "f32"
               or any(new == gguf.TENSOR_NAMES[k].format(bid=bid) + ".weight" for k in forced_f32))
        if f32:
            w.add_tensor(new, np.ascontiguousarray(values, dtype=np.float32))
        else:
            w.add_tensor(new, bf16_bits(values), raw_dtype=gguf.GGMLQuantizationType.BF16)

    nk, nv = c["linear_num_key_heads"], c["linear_num_value_heads"]
    dk, dv, h = c["linear_key_head_dim"], c["linear_value_head_dim"], c["hidden_size"]
    for name, values in t.items():
        bid = int(name.split(".")[2]) if name.startswith("model.layers.") else None
        if name.endswith(".A_log"):
            add(name, -np.exp(values), bid)
        elif name.endswith(".dt_bias"):
            add(name.rpartition(".dt_bias")[0] + ".dt_proj.bias", values, bid)
        elif "conv1d" in name:
            add(name, values.squeeze(), bid)
        elif name.endswith("norm.weight") and not name.endswith("linear_attn.norm.weight"):
            add(name, values + np.float32(1), bid)
        elif name.endswith("in_proj_qkvz.weight"):
            # per key head [q, k, v, z] -> [all q | all k | all v] and [all z]
            split = [dk, dk, nv // nk * dv, nv // nk * dv]
            grouped = values.T.reshape(h, nk, sum(split))
            q, k, v, z = np.split(grouped, np.cumsum(split)[:-1], axis=-1)
            qkv = np.concatenate([q.reshape(h, -1), k.reshape(h, -1), v.reshape(h, -1)], axis=-1).T
            w.add_tensor(gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.ATTN_QKV].format(bid=bid) + ".weight", bf16_bits(qkv)
                         if args.outtype == "bf16" else np.ascontiguousarray(qkv, np.float32),
                         raw_dtype=gguf.GGMLQuantizationType.BF16 if args.outtype == "bf16" else None)
            zt = z.reshape(h, -1).T
            w.add_tensor(gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.ATTN_GATE].format(bid=bid) + ".weight", bf16_bits(zt)
                         if args.outtype == "bf16" else np.ascontiguousarray(zt, np.float32),
                         raw_dtype=gguf.GGMLQuantizationType.BF16 if args.outtype == "bf16" else None)
        elif name.endswith("mlp.experts.gate_up_proj"):
            n_ff = values.shape[-2] // 2
            base = name.removesuffix(".gate_up_proj")
            add(base + ".gate_proj.weight", values[..., :n_ff, :], bid)
            add(base + ".up_proj.weight", values[..., n_ff:, :], bid)
        elif name.endswith("mlp.experts.down_proj"):
            add(name + ".weight", values, bid)
        else:
            add(name, values, bid)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file(progress=False)
    w.close()
    print(f"{args.out}: {args.outtype}, {os.path.getsize(args.out) / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
