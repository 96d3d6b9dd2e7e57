#!/usr/bin/env python3
"""Reference logits and greedy continuations for the embedded engine's parity tests.

Runs on the GPU machine (transformers 5.x, PyTorch), on its CPU in fp32 so that no TF32 or fused
kernel enters the reference. For each small random Qwen3NextForCausalLM configuration it writes

  <out>/<name>/config.json, model.safetensors   save_pretrained, fp32
  <out>/<name>/<prompt>.json                    prompt ids, logit positions, greedy continuation,
                                                top-1/top-2 margins of each greedy step, tensor names
  <out>/<name>/<prompt>.logits.bin              float32 little-endian [rows, vocab]: the prompt logits
                                                at the json's "positions" (the last one included),
                                                then the logits of the decode steps in "decode_steps"

Usage: python3 make_reference.py OUT_DIR                       the random checkpoints above
       python3 make_reference.py OUT_DIR --from-dir DIR NAME     an existing checkpoint (e.g. models/base):
           writes OUT_DIR/NAME/long.json + long.logits.bin with "model_dir": DIR, which the parity test
           resolves against the repository root (run from the root so DIR is relative to it)
"""
import json
import math
import os
import sys
import traceback

import torch

VOCAB = 512
NEW_TOKENS = 64


def configs():
    """Small configurations that together cover the family's switches."""
    base = dict(vocab_size=VOCAB, rms_norm_eps=1e-6, max_position_embeddings=4096, initializer_range=0.1,
                hidden_act="silu", attention_bias=False, linear_conv_kernel_dim=4, bos_token_id=None,
                eos_token_id=None, pad_token_id=None)
    return [
        # Dense MLP everywhere (num_experts = 0), tied embeddings, partial RoPE 0.25, GQA 4:2,
        # linear heads with 2 value heads per key head.
        ("dense_tied", [("long", 1500), ("short", 3)], dict(base, hidden_size=64, intermediate_size=128, num_hidden_layers=4,
                                  layer_types=["linear_attention"] * 3 + ["full_attention"],
                                  num_attention_heads=4, num_key_value_heads=2, head_dim=32,
                                  partial_rotary_factor=0.25, linear_num_key_heads=2, linear_num_value_heads=4,
                                  linear_key_head_dim=16, linear_value_head_dim=16, num_experts=0,
                                  tie_word_embeddings=True)),
        # MoE with shared expert, normalised top-k, layer 0 dense through mlp_only_layers, untied,
        # partial RoPE 0.5, 8 query heads on 2 KV heads, one value head per key head.
        ("moe_shared", [("long", 2000)], dict(base, hidden_size=64, intermediate_size=96, num_hidden_layers=4,
                                  layer_types=["linear_attention", "full_attention", "linear_attention",
                                               "full_attention"],
                                  num_attention_heads=8, num_key_value_heads=2, head_dim=16,
                                  partial_rotary_factor=0.5, linear_num_key_heads=4, linear_num_value_heads=4,
                                  linear_key_head_dim=16, linear_value_head_dim=8, num_experts=8,
                                  num_experts_per_tok=2, moe_intermediate_size=32,
                                  shared_expert_intermediate_size=48, norm_topk_prob=True, mlp_only_layers=[0],
                                  decoder_sparse_step=1, tie_word_embeddings=False)),
        # MoE every second layer (decoder_sparse_step 2), un-normalised top-k, GQA 2:1, wide heads,
        # 3 top-k of 4 experts.
        ("moe_sparse_step", [("long", 1100)], dict(base, hidden_size=48, intermediate_size=80, num_hidden_layers=6,
                                       layer_types=["linear_attention", "linear_attention", "full_attention"] * 2,
                                       num_attention_heads=2, num_key_value_heads=1, head_dim=64,
                                       partial_rotary_factor=0.25, linear_num_key_heads=1,
                                       linear_num_value_heads=2, linear_key_head_dim=32, linear_value_head_dim=16,
                                       num_experts=4, num_experts_per_tok=3, moe_intermediate_size=24,
                                       shared_expert_intermediate_size=40, norm_topk_prob=False,
                                       decoder_sparse_step=2, tie_word_embeddings=False)),
    ]


def randomise(model, gen):
    """Moves every parameter the default init leaves at a constant off it, so parity is not trivial.
    Selected by parameter name, which is what the checkpoint and the engine share."""
    zero_centred = ("input_layernorm.weight", "post_attention_layernorm.weight", "q_norm.weight",
                    "k_norm.weight")
    counts = {}
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith(zero_centred) or name == "model.norm.weight":  # output * (1 + weight)
                kind, value = "zero_centred_norm", torch.randn(param.shape, generator=gen) * 0.3
            elif name.endswith("linear_attn.norm.weight"):                 # gated norm: output * weight
                kind, value = "gated_norm", 1.0 + torch.randn(param.shape, generator=gen) * 0.3
            elif name.endswith("A_log"):
                kind, value = "A_log", torch.log(torch.rand(param.shape, generator=gen) * 2.0 + 0.05)
            elif name.endswith("dt_bias"):
                kind, value = "dt_bias", torch.randn(param.shape, generator=gen) * 0.5
            elif param.dim() == 3:                                          # fused expert weights
                kind, value = "experts", torch.randn(param.shape, generator=gen) * 0.1
            else:
                continue
            param.copy_(value)
            counts[kind] = counts.get(kind, 0) + 1
    print("randomised:", counts, flush=True)


def use_torch_kernels(model):
    """The reference must be the plain PyTorch path even where fla / causal-conv1d are installed."""
    from transformers.models.qwen3_next import modeling_qwen3_next as m
    replacements = {"causal_conv1d_fn": None,
                    "causal_conv1d_update": getattr(m, "torch_causal_conv1d_update", None),
                    "chunk_gated_delta_rule": getattr(m, "torch_chunk_gated_delta_rule", None),
                    "recurrent_gated_delta_rule": getattr(m, "torch_recurrent_gated_delta_rule", None)}
    for module in model.modules():
        if hasattr(module, "A_log"):
            for attr, fn in replacements.items():
                if hasattr(module, attr) and (fn is not None or attr == "causal_conv1d_fn"):
                    setattr(module, attr, fn)


def logit_positions(length):
    """A spread of prompt positions: the first few, a stride through the middle, the last."""
    picks = set(range(0, min(length, 4)))
    picks.update(range(63, length, 97))
    picks.update([length // 2, length - 2, length - 1])
    return sorted(p for p in picks if 0 <= p < length)


def make_prompt(length, gen, vocab=VOCAB):
    """Random ids with a repeated span, so attention has something to find."""
    ids = torch.randint(0, vocab, (length,), generator=gen)
    if length > 300:
        ids[length - 120:length - 20] = ids[100:200]
    return ids


def build(name, prompts, cfg, out_dir, seed):
    from safetensors import safe_open
    from transformers import Qwen3NextConfig, Qwen3NextForCausalLM

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    kwargs = dict(cfg)
    factor = kwargs.get("partial_rotary_factor", 0.25)
    kwargs["rope_parameters"] = {"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": factor}
    config = Qwen3NextConfig(**kwargs)
    config._attn_implementation = "eager"
    model = Qwen3NextForCausalLM(config).float().eval()
    randomise(model, gen)
    use_torch_kernels(model)
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = None

    target = os.path.join(out_dir, name)
    os.makedirs(target, exist_ok=True)
    model.save_pretrained(target, safe_serialization=True)
    with safe_open(os.path.join(target, "model.safetensors"), "pt") as f:
        tensor_names = sorted(f.keys())
    rotary_dim = int(model.model.rotary_emb.inv_freq.numel() * 2)
    for prompt_name, length in prompts:
        reference_for_prompt(model, config, target, prompt_name, length, gen, rotary_dim, tensor_names)


def reference_for_prompt(model, config, target, prompt_name, length, gen, rotary_dim, tensor_names, extra=None):
    prompt = make_prompt(length, gen, config.vocab_size)
    positions = logit_positions(length)
    decode_steps = [0, 1, 31, NEW_TOKENS - 2]
    with torch.no_grad():
        out = model(prompt[None, :], use_cache=True, logits_to_keep=0)
        prompt_logits = out.logits[0]
        cache = out.past_key_values
        rows = [prompt_logits[p] for p in positions]
        # Greedy decode through the cache (the O(1) recurrent path for linear layers).
        step_logits = prompt_logits[-1]
        continuation, margins, decode_rows = [], [], []
        for step in range(NEW_TOKENS):
            top2 = torch.topk(step_logits, 2)
            token = int(top2.indices[0])
            continuation.append(token)
            margins.append(float(top2.values[0] - top2.values[1]))
            if step == NEW_TOKENS - 1:
                break
            out = model(torch.tensor([[token]]), past_key_values=cache, use_cache=True)
            cache = out.past_key_values
            step_logits = out.logits[0, -1]
            if step in decode_steps:
                decode_rows.append(step_logits.clone())
        # The same continuation through transformers' own generate(), as a cross-check of the loop.
        try:
            generated = model.generate(prompt[None, :], attention_mask=torch.ones(1, length, dtype=torch.long),
                                       max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS,
                                       do_sample=False)[0, length:].tolist()
        except Exception:
            traceback.print_exc()
            generated = None

    logits = torch.stack(rows + decode_rows).float().contiguous()
    logits.numpy().astype("<f4").tofile(os.path.join(target, f"{prompt_name}.logits.bin"))
    reference = {
        "generator": "tools/refgen/engine/make_reference.py",
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
        "device": "cpu fp32",
        "vocab_size": config.vocab_size,
        "rotary_dim": rotary_dim,
        "layer_types": list(config.layer_types),
        "prompt": prompt.tolist(),
        "positions": positions,
        "decode_steps": decode_steps,
        "decode_steps_meaning": "row k after the prompt rows: logits after feeding continuation[decode_steps[k]], "
                                "i.e. the distribution of continuation[decode_steps[k] + 1]",
        "continuation": continuation,
        "generate_continuation": generated,
        "greedy_margins": margins,
        "logits_file": f"{prompt_name}.logits.bin",
        "logits_rows": len(rows) + len(decode_rows),
        "tensor_names": tensor_names,
    }
    reference.update(extra or {})
    with open(os.path.join(target, f"{prompt_name}.json"), "w") as f:
        json.dump(reference, f)
    print(f"{os.path.basename(target)}/{prompt_name}: {length} tokens, rotary_dim {rotary_dim}, "
          f"min margin {min(margins):.4f}, generate agrees: {generated == continuation}, "
          f"tensors {len(tensor_names)}", flush=True)


def main():
    out_dir = sys.argv[1]
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    torch.use_deterministic_algorithms(True)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    failures = 0
    if len(sys.argv) == 5 and sys.argv[2] == "--from-dir":
        from transformers import Qwen3NextForCausalLM
        model_dir, name = sys.argv[3], sys.argv[4]
        model = Qwen3NextForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
        model.config._attn_implementation = "eager"
        use_torch_kernels(model)
        target = os.path.join(out_dir, name)
        os.makedirs(target, exist_ok=True)
        rotary_dim = int(model.model.rotary_emb.inv_freq.numel() * 2)
        names = sorted(n for n, _ in model.named_parameters())
        reference_for_prompt(model, model.config, target, "long", 1500, torch.Generator().manual_seed(5), rotary_dim,
                             names, {"model_dir": model_dir})
        return
    # The 3-token prompt (shorter than the conv kernel) exercises the decode-state padding.
    for seed, (name, prompts, cfg) in enumerate(configs(), start=1234):
        try:
            build(name, prompts, cfg, out_dir, seed)
        except Exception:
            failures += 1
            traceback.print_exc()
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
