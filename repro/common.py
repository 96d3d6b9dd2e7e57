"""Shared pieces of the reproduction harness: model shape, chat format, fast Gated-DeltaNet kernel,
checkpoint saving. Runs on the GPU machine (PyTorch 2.11, transformers 5.17).
"""
import json
import os
import tarfile

import torch

# Model shape. Small enough that three bf16 checkpoints stay under 40 MB together (~6.3M params each)
# and the C++ engine prefills 4K tokens in about a second on 2 cores; 8 layers so that two layers
# (3 and 7) are gated full attention: "one global layer in four", as in Qwen3-Next.
MODEL_SHAPE = dict(
    vocab_size=4096,
    hidden_size=256,
    intermediate_size=512,
    num_hidden_layers=8,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=64,
    linear_num_key_heads=2,
    linear_num_value_heads=4,
    linear_key_head_dim=64,
    linear_value_head_dim=64,
    linear_conv_kernel_dim=4,
    layer_types=["linear_attention", "linear_attention", "linear_attention", "full_attention"] * 2,
    # rope_theta 1e6: the 16 rotary dims then turn slowly enough that 16K positions stay close to
    # the angles seen in training at 4K (the other 48 dims of each head carry no position at all).
    rope_parameters={"rope_type": "default", "rope_theta": 1000000.0, "partial_rotary_factor": 0.25},
    num_experts=0,                 # dense MLP everywhere
    mlp_only_layers=list(range(8)),
    decoder_sparse_step=1,
    tie_word_embeddings=True,
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
    """Hugging Face directory: bf16 safetensors (shards < 16 MB), config, tokenizer, generation config."""
    from transformers import GenerationConfig
    os.makedirs(out_dir, exist_ok=True)
    model = model.to(torch.bfloat16)
    model.config.dtype = "bfloat16"
    model.save_pretrained(out_dir, max_shard_size="15MB")
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
    return AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(device)


def log(*args, **kw):
    print(*args, **kw, flush=True)
