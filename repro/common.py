"""Shared pieces of the reproduction harness: model shape, chat format, fast Gated-DeltaNet kernel,
checkpoint saving. Runs on the GPU machine (PyTorch 2.11, transformers 5.17).
"""
import json
import os
import tarfile

import torch
import torch.nn.functional as F

# Model shape (v2, issue 15). Two shipped bf16 checkpoints must stay under 32 MB together, so ~7.5M
# parameters each; deeper rather than wider: 12 layers, one in four gated full attention (3, 7, 11, as
# in Qwen3-Next), 8 query heads on 4 KV heads each, so 12 KV groups for a per-head repair to choose
# from. Untied embeddings (v1's tied table moved 9.1% in SFT, beyond any Q/K repair) cost 1M of the
# budget, paid for with a narrow MLP (256) and 2 value heads in the Gated DeltaNet layers.
N_LAYERS = 12
MODEL_SHAPE = dict(
    vocab_size=4096,
    hidden_size=256,
    intermediate_size=256,
    num_hidden_layers=N_LAYERS,
    num_attention_heads=8,
    num_key_value_heads=4,
    head_dim=64,
    linear_num_key_heads=2,
    linear_num_value_heads=2,
    linear_key_head_dim=64,
    linear_value_head_dim=64,
    linear_conv_kernel_dim=4,
    layer_types=["linear_attention", "linear_attention", "linear_attention", "full_attention"] * (N_LAYERS // 4),
    # rope_theta 1e6: the 16 rotary dims then turn slowly enough that 16K positions stay close to
    # the angles seen in training at 4K (the other 48 dims of each head carry no position at all).
    rope_parameters={"rope_type": "default", "rope_theta": 1000000.0, "partial_rotary_factor": 0.25},
    num_experts=0,                 # dense MLP everywhere
    mlp_only_layers=list(range(N_LAYERS)),
    decoder_sparse_step=1,
    tie_word_embeddings=False,
    max_position_embeddings=65536,
    rms_norm_eps=1e-6,
    initializer_range=0.02,
)

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
EOT, IM_START, IM_END = 0, 1, 2  # ids given to SPECIALS by train_tokenizer.py (checked at load)

# ChatML, as Qwen models use it: the NIAH answer prefix and SFT answers live in the assistant turn.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def user_turn(text):
    """Prompt text up to where the assistant's answer starts."""
    return f"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n"


def make_config():
    from transformers import Qwen3NextConfig
    return Qwen3NextConfig(**MODEL_SHAPE, bos_token_id=EOT, eos_token_id=IM_END, pad_token_id=EOT)


def load_tokenizer(path):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(path)
    for i, s in enumerate(SPECIALS):
        assert tok.token_to_id(s) == i, f"{path}: special token {s} must have id {i}"
    return tok


def global_layers(config):
    return [i for i, t in enumerate(config.layer_types) if t == "full_attention"]


# ---------------------------------------------------------------------------------------------
def save_model(model, tok_path, out_dir):
    """Hugging Face directory: one bf16 model.safetensors, config, tokenizer, generation config."""
    from transformers import GenerationConfig
    os.makedirs(out_dir, exist_ok=True)
    model = model.to(torch.bfloat16)
    model.config.dtype = "bfloat16"
    model.save_pretrained(out_dir, max_shard_size="64MB")
    GenerationConfig(bos_token_id=EOT, eos_token_id=[IM_END, EOT], pad_token_id=EOT,
                     do_sample=False, max_new_tokens=128).save_pretrained(out_dir)
    with open(tok_path) as f:
        tok_json = f.read()
    with open(os.path.join(out_dir, "tokenizer.json"), "w") as f:
        f.write(tok_json)
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": None, "eos_token": "<|im_end|>",
                   "pad_token": "<|endoftext|>", "unk_token": None, "model_max_length": 65536,
                   "add_bos_token": False, "chat_template": CHAT_TEMPLATE}, f, indent=1)
    with open(os.path.join(out_dir, "chat_template.jinja"), "w") as f:
        f.write(CHAT_TEMPLATE)


def tar_dir(src_dir, tar_path):
    """$OUT returns at most 8 files, so each model directory travels back as one tar."""
    with tarfile.open(tar_path, "w") as t:
        t.add(src_dir, arcname=os.path.basename(src_dir.rstrip("/")))


def load_model(path, device="cuda", dtype=torch.float32):
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(device)
    use_fast_delta_rule(model)
    return model


# ---------------------------------------------------------------------------------------------
# Gated delta rule, chunked (Yang et al.), in plain PyTorch. transformers' fallback solves each chunk's
# triangular system with a 63-step Python loop and walks chunks of 64; both are launch-bound on the
# GPU. Here the system is one triangular solve and the chunk size is a parameter (larger chunks: fewer
# sequential steps; the math is the same for any chunk size). Checked against the fallback's outputs
# and gradients by `smoke.py` before training uses it.
DELTA_CHUNK = int(os.environ.get("REPRO_DELTA_CHUNK", "64"))
FAST_DELTA_CALLS = [0]


def _l2norm(x, eps=1e-6):
    return x * torch.rsqrt((x * x).sum(dim=-1, keepdim=True) + eps)


def chunk_gated_delta_rule(query, key, value, g, beta, chunk_size=None, initial_state=None,
                           output_final_state=False, use_qk_l2norm_in_kernel=False):
    FAST_DELTA_CALLS[0] += 1
    with torch.autocast(query.device.type, enabled=False):   # the recurrence in fp32, as the C++ engine runs it
        return _chunk_gated_delta_rule(query, key, value, g, beta, chunk_size or DELTA_CHUNK, initial_state,
                                       output_final_state, use_qk_l2norm_in_kernel)


def _chunk_gated_delta_rule(query, key, value, g, beta, C, initial_state, output_final_state, use_qk_l2norm_in_kernel):
    dtype = query.dtype
    if use_qk_l2norm_in_kernel:
        query, key = _l2norm(query), _l2norm(key)
    query, key, value, beta, g = [x.transpose(1, 2).contiguous().float() for x in (query, key, value, beta, g)]
    B, H, T, dk = key.shape
    dv = value.shape[-1]
    pad = (C - T % C) % C
    query, key, value = (F.pad(x, (0, 0, 0, pad)) for x in (query, key, value))
    beta, g = F.pad(beta, (0, pad)), F.pad(g, (0, pad))
    n = (T + pad) // C
    query = query * dk ** -0.5
    k_beta, v_beta = key * beta[..., None], value * beta[..., None]
    query, key, value, k_beta, v_beta = (x.reshape(B, H, n, C, -1) for x in (query, key, value, k_beta, v_beta))
    g = g.reshape(B, H, n, C).cumsum(-1)
    decay = (g[..., :, None] - g[..., None, :]).tril().exp().tril()
    strict = torch.tril(torch.ones(C, C, dtype=torch.bool, device=query.device), -1)
    lower = ((k_beta @ key.transpose(-1, -2)) * decay) * strict
    eye = torch.eye(C, dtype=lower.dtype, device=lower.device)
    # (I + L)^-1 in one unit-lower-triangular solve (the fallback's loop computes the same inverse)
    inv = torch.linalg.solve_triangular(eye + lower, eye.expand_as(lower), upper=False, unitriangular=True)
    value = inv @ v_beta
    k_cumdecay = inv @ (k_beta * g.exp()[..., None])
    state = (torch.zeros(B, H, dk, dv, device=query.device, dtype=torch.float32) if initial_state is None
             else initial_state.float())
    causal = torch.tril(torch.ones(C, C, dtype=torch.bool, device=query.device))
    intra = (query @ key.transpose(-1, -2)) * decay * causal
    q_decayed = query * g.exp()[..., None]
    k_to_end = key * (g[..., -1:] - g).exp()[..., None]
    g_end = g[..., -1].exp()
    outs = []
    for i in range(n):
        v_new = value[:, :, i] - k_cumdecay[:, :, i] @ state
        outs.append(q_decayed[:, :, i] @ state + intra[:, :, i] @ v_new)
        state = state * g_end[:, :, i, None, None] + k_to_end[:, :, i].transpose(-1, -2) @ v_new
    out = torch.stack(outs, 2).reshape(B, H, n * C, dv)[:, :, :T].transpose(1, 2).contiguous().to(dtype)
    return out, (state if output_final_state else None)


def use_fast_delta_rule(model):
    """Points every Gated DeltaNet layer at chunk_gated_delta_rule (REPRO_FAST_DELTA=0 keeps transformers')."""
    if os.environ.get("REPRO_FAST_DELTA", "1") == "0":
        return 0
    n = 0
    for mod in model.modules():
        if hasattr(mod, "chunk_gated_delta_rule"):
            mod.chunk_gated_delta_rule = chunk_gated_delta_rule
            n += 1
    return n


def log(*args, **kw):
    print(*args, **kw, flush=True)
