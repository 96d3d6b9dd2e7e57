#!/usr/bin/env python3
"""Tiny reference checkpoints for every architecture family qkrestore handles.

Runs on the GPU machine (transformers 5.x, torch, safetensors; no internet). For each family it
builds a randomly initialised TINY model from the family's own config class, saves it with
transformers' own save_pretrained as base/, perturbs EVERY saved tensor (each element changes, so a
test can tell which source a byte came from) and saves again as sft/. Next to them it writes
manifest.json: the layer kinds and the global-attention query/key tensor names as the instantiated
model itself shows them (module classes, per-layer sliding windows), not as our notes claim.

Two custom-code families (HypeNet, Jet-Nemotron) are not shipped by transformers: their files are
written with the safetensors library, following the names of their published modeling code.

usage: make_checkpoints.py OUT_DIR [family ...]
"""
import json
import os
import re
import shutil
import sys
import traceback

import torch
import transformers
from safetensors import safe_open
from safetensors.torch import save_file

from manifest_layout import annotate

VOCAB = 64
COMMON = dict(vocab_size=VOCAB, hidden_size=32, num_attention_heads=4, num_key_value_heads=2,
              max_position_embeddings=256, pad_token_id=0, bos_token_id=1, eos_token_id=2,
              tie_word_embeddings=False)
MAX_PARAMS = 400_000  # a config key we got wrong must not silently build a full-size model

LT2 = ["linear_attention", "full_attention"] * 2


def attempt(cfg_cls, model_cls, **kw):
    return dict(cfg=cfg_cls, model=model_cls, kwargs=kw)


# name -> dict(attempts=[...], storage=..., note=...)
# storage: "bf16" single file, "bf16-sharded" (index + several shards), "fp32-base-bf16-sft".
FAMILIES = {}


def family(name, attempts, storage="bf16", base_family=None):
    FAMILIES[name] = dict(attempts=attempts, storage=storage, base_family=base_family or name)


llama = [attempt("LlamaConfig", "LlamaForCausalLM", **COMMON, num_hidden_layers=4, intermediate_size=16, head_dim=8)]
family("llama", llama)
family("llama_sharded", llama, storage="bf16-sharded", base_family="llama")
family("llama_fp32_base_bf16_sft", llama, storage="fp32-base-bf16-sft", base_family="llama")
family("mistral", [attempt("MistralConfig", "MistralForCausalLM", **COMMON, num_hidden_layers=4,
                           intermediate_size=16, head_dim=8, sliding_window=None)])
family("qwen2", [attempt("Qwen2Config", "Qwen2ForCausalLM", **COMMON, num_hidden_layers=4, intermediate_size=16)])
family("qwen3", [attempt("Qwen3Config", "Qwen3ForCausalLM", **COMMON, num_hidden_layers=4, intermediate_size=16,
                         head_dim=8)])

qwen3_next_kw = dict(COMMON, num_hidden_layers=4, intermediate_size=16, head_dim=16, layer_types=LT2,
                     partial_rotary_factor=0.25, linear_num_key_heads=2, linear_num_value_heads=4,
                     linear_key_head_dim=8, linear_value_head_dim=8, linear_conv_kernel_dim=4,
                     num_experts=4, num_experts_per_tok=2, moe_intermediate_size=16,
                     shared_expert_intermediate_size=16, decoder_sparse_step=1, mlp_only_layers=[])
qwen3_next = [attempt("Qwen3NextConfig", "Qwen3NextForCausalLM", **qwen3_next_kw)]
family("qwen3_next", qwen3_next)
family("qwen3_next_sharded", qwen3_next, storage="bf16-sharded", base_family="qwen3_next")

qwen35_text = dict(COMMON, num_hidden_layers=4, intermediate_size=16, head_dim=16, layer_types=LT2,
                   linear_num_key_heads=2, linear_num_value_heads=4, linear_key_head_dim=8,
                   linear_value_head_dim=8, linear_conv_kernel_dim=4,
                   rope_parameters=dict(rope_type="default", rope_theta=10000.0, partial_rotary_factor=0.25,
                                        mrope_section=[1, 1, 0], mrope_interleaved=True))
family("qwen3_5_text", [attempt("Qwen3_5TextConfig", "Qwen3_5ForCausalLM", **qwen35_text)])
family("qwen3_5", [attempt("Qwen3_5Config", "Qwen3_5ForConditionalGeneration",
                           text_config=qwen35_text, tie_word_embeddings=False,
                           vision_config=dict(depth=1, hidden_size=16, intermediate_size=16, num_heads=2,
                                              patch_size=2, spatial_merge_size=2, temporal_patch_size=2,
                                              out_hidden_size=32, num_position_embeddings=16))])

family("falcon_h1", [attempt("FalconH1Config", "FalconH1ForCausalLM", **COMMON, num_hidden_layers=4,
                             intermediate_size=16, head_dim=8, mamba_d_ssm=64, mamba_n_heads=4, mamba_d_head=16,
                             mamba_n_groups=1, mamba_d_state=8, mamba_d_conv=4, mamba_expand=2,
                             mamba_chunk_size=16)])

nemo_kw = dict(COMMON, layers_block_type=["linear_attention", "full_attention", "mlp", "moe", "linear_attention",
                                          "full_attention"],
               intermediate_size=16, head_dim=8, mamba_num_heads=4, mamba_head_dim=16, ssm_state_size=8,
               n_groups=1, expand=2, chunk_size=16, conv_kernel=4, n_routed_experts=4, num_experts_per_tok=2,
               moe_intermediate_size=16, moe_shared_expert_intermediate_size=16, use_mamba_kernels=False)
nemotron_h = [attempt("NemotronHConfig", "NemotronHForCausalLM", **nemo_kw)]
family("nemotron_h", nemotron_h)
family("nemotron_h_sharded", nemotron_h, storage="bf16-sharded", base_family="nemotron_h")
# nemotron_h_pattern (released-checkpoint config.json with hybrid_override_pattern) is derived from
# nemotron_h's files after it is written: see write_nemotron_pattern_variant.

family("jamba", [attempt("JambaConfig", "JambaForCausalLM", **COMMON, num_hidden_layers=4, intermediate_size=16,
                         attn_layer_period=2, attn_layer_offset=1, expert_layer_period=2, expert_layer_offset=1,
                         num_experts=4, num_experts_per_tok=2, mamba_d_state=8, mamba_d_conv=4, mamba_expand=2,
                         mamba_dt_rank=4, use_mamba_kernels=False)])
family("bamba", [attempt("BambaConfig", "BambaForCausalLM", **COMMON, num_hidden_layers=4, intermediate_size=16,
                         attn_layer_indices=[1, 3], mamba_n_heads=4, mamba_d_head=16, mamba_n_groups=1,
                         mamba_d_state=8, mamba_d_conv=4, mamba_expand=2, mamba_chunk_size=16)])
gmh = dict(COMMON, num_hidden_layers=4, intermediate_size=16, shared_intermediate_size=16,
           num_local_experts=4, num_experts_per_tok=2, mamba_n_heads=4, mamba_d_head=16, mamba_n_groups=1,
           mamba_d_state=8, mamba_d_conv=4, mamba_expand=2, mamba_chunk_size=16, position_embedding_type="nope")
family("granitemoehybrid", [
    attempt("GraniteMoeHybridConfig", "GraniteMoeHybridForCausalLM",
            **dict(gmh, layer_types=["mamba", "attention", "mamba", "attention"])),
    attempt("GraniteMoeHybridConfig", "GraniteMoeHybridForCausalLM", **dict(gmh, layer_types=LT2))])
family("lfm2", [attempt("Lfm2Config", "Lfm2ForCausalLM", **COMMON, num_hidden_layers=4, intermediate_size=16,
                        block_auto_adjust_ff_dim=False, conv_L_cache=3,
                        layer_types=["conv", "full_attention", "conv", "full_attention"])])
family("minimax", [attempt("MiniMaxConfig", "MiniMaxForCausalLM", **COMMON, num_hidden_layers=4,
                           intermediate_size=16, head_dim=8, layer_types=LT2, num_local_experts=4,
                           num_experts_per_tok=2, block_size=16)])
kimi = dict(COMMON, num_hidden_layers=4, num_key_value_heads=4, intermediate_size=16, moe_intermediate_size=16,
            kv_lora_rank=16, q_lora_rank=None, qk_rope_head_dim=4, qk_nope_head_dim=8, v_head_dim=8,
            num_local_experts=4, num_experts_per_tok=2, n_shared_experts=1, first_k_dense_replace=1,
            # as released checkpoints give the layer split: 1-based full/KDA layer lists
            linear_attn_config=dict(full_attn_layers=[2, 4], kda_layers=[1, 3], head_dim=8, num_heads=4,
                                    short_conv_kernel_size=4))
family("kimi_linear", [attempt("KimiLinearConfig", "KimiLinearForCausalLM", **kimi)])
z2 = dict(COMMON, tie_word_embeddings=True, num_hidden_layers=6, num_key_value_heads=4, intermediate_size=16, mamba_d_state=8,
          mamba_d_conv=4, mamba_expand=2, mamba_ngroups=1, n_mamba_heads=4, chunk_size=16, num_mem_blocks=1,
          use_shared_attention_adapter=True, use_shared_mlp_adapter=True, adapter_rank=4, use_mem_rope=True)
family("zamba2", [
    attempt("Zamba2Config", "Zamba2ForCausalLM",
            **dict(z2, layers_block_type=["mamba", "hybrid", "mamba", "mamba", "hybrid", "mamba"])),
    attempt("Zamba2Config", "Zamba2ForCausalLM",
            **dict(z2, layer_types=["linear_attention", "hybrid", "linear_attention", "linear_attention", "hybrid",
                                    "linear_attention"]))])
family("gemma3", [attempt("Gemma3TextConfig", "Gemma3ForCausalLM", **dict(COMMON, tie_word_embeddings=True),
                          num_hidden_layers=6,
                          intermediate_size=16, head_dim=8, sliding_window=16,
                          layer_types=["sliding_attention", "sliding_attention", "full_attention"] * 2)])
# Cohere2 (Command R7B): sliding-window layers with RoPE, full-attention layers without (NoPE), tied embeddings.
cohere2_kw = dict(COMMON, num_hidden_layers=4, intermediate_size=16, sliding_window=16,
                  layer_types=["sliding_attention"] * 3 + ["full_attention"])
family("cohere2", [attempt("Cohere2Config", "Cohere2ForCausalLM", **cohere2_kw, head_dim=8),
                   attempt("Cohere2Config", "Cohere2ForCausalLM", **cohere2_kw)])
family("olmo3", [attempt("Olmo3Config", "Olmo3ForCausalLM", **COMMON, num_hidden_layers=4, intermediate_size=16,
                         sliding_window=16, layer_types=["sliding_attention"] * 3 + ["full_attention"])])
family("gpt_oss", [attempt("GptOssConfig", "GptOssForCausalLM", **COMMON, num_hidden_layers=4,
                           intermediate_size=16, head_dim=8, num_local_experts=4, num_experts_per_tok=2,
                           sliding_window=16, layer_types=["sliding_attention", "full_attention"] * 2)])
family("phi3", [attempt("Phi3Config", "Phi3ForCausalLM", **COMMON, num_hidden_layers=4, intermediate_size=16)])

CUSTOM = ["hypenet", "jet_nemotron"]

# keys of config.json that say which layer is which; copied into the manifest verbatim
LAYER_KEYS = {"layer_types", "layers_block_type", "hybrid_override_pattern", "attn_layer_indices", "attn_layer_period",
              "attn_layer_offset", "expert_layer_period", "expert_layer_offset", "hybrid_layer_ids", "full_attn_idxs",
              "linear_attn_config", "full_attention_interval", "sliding_window", "sliding_window_pattern",
              "mixer_types", "attn_type_list", "mlp_layer_types", "position_embedding_type", "partial_rotary_factor",
              "rope_parameters", "rope_scaling", "rope_theta", "attn_output_gate", "use_shared_attention_adapter",
              "use_mem_rope", "num_mem_blocks", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
              "head_dim", "attention_bias", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim", "kv_lora_rank",
              "q_lora_rank", "mla_use_nope", "efficient_attention_config", "attn_use_rope", "attn_use_output_gate",
              "lightning_use_qk_norm", "mtp_layers_block_type", "max_window_layers", "use_sliding_window",
              "attention_hidden_size", "attention_head_dim", "auto_map", "architectures", "model_type", "dtype",
              "torch_dtype", "tie_word_embeddings", "transformers_version"}

# a tensor of a softmax-attention module that shapes the logits q.k (relative name -> role)
QK_ROLES = [
    (r"^(q_proj)\.weight$", "q_weight"), (r"^(k_proj)\.weight$", "k_weight"),
    (r"^(q_proj)\.bias$", "q_bias"), (r"^(k_proj)\.bias$", "k_bias"),
    (r"^(qkv_proj|query_key_value|Wqkv|c_attn)\.weight$", "fused_qkv_weight"),
    (r"^(qkv_proj|query_key_value|Wqkv|c_attn)\.bias$", "fused_qkv_bias"),
    (r"^(q_norm|q_layernorm)\.weight$", "q_norm"), (r"^(k_norm|k_layernorm)\.weight$", "k_norm"),
    (r"^q_a_proj\.weight$", "mla_q_a"), (r"^q_b_proj\.weight$", "mla_q_b"), (r"^q_a_layernorm\.weight$", "mla_q_a_norm"),
    (r"^kv_a_proj_with_mqa\.weight$", "mla_kv_a (k_rope rows + kv latent)"),
    (r"^kv_a_layernorm\.weight$", "mla_kv_a_norm"), (r"^kv_b_proj\.weight$", "mla_kv_b (k_nope + v rows)"),
    (r"^linear_q_adapter_list\..*$", "q_adapter"), (r"^linear_k_adapter_list\..*$", "k_adapter"),
    (r"^sinks$", "sinks"),
]
NON_SOFTMAX = ("Linear", "Lightning", "Delta", "Mamba", "ShortConv", "KDA", "Layer", "Block", "Rotary")
RECURRENT = ("Mamba", "Mixer", "Delta", "Lightning", "ShortConv", "LinearAttention", "KDA", "Conv")


def qk_role(rel):
    for pat, role in QK_ROLES:
        if re.match(pat, rel):
            return role
    return None


def log(*a):
    print(*a, flush=True)


def dtype_of(storage, which):
    if storage == "fp32-base-bf16-sft" and which == "base":
        return torch.float32
    return torch.bfloat16


def shard_size(storage):
    return "20KB" if storage.endswith("sharded") else "5GB"


def saved_tensors(d):
    """name -> (file, dtype, shape) of every tensor in a checkpoint directory."""
    out = {}
    for f in sorted(os.listdir(d)):
        if f.endswith(".safetensors"):
            with safe_open(os.path.join(d, f), framework="pt") as h:
                for k in h.keys():
                    sl = h.get_slice(k)
                    out[k] = (f, sl.get_dtype(), list(sl.get_shape()))
    return out


def load_all(d):
    out = {}
    for f in sorted(os.listdir(d)):
        if f.endswith(".safetensors"):
            with safe_open(os.path.join(d, f), framework="pt") as h:
                for k in h.keys():
                    out[k] = h.get_tensor(k)
    return out


@torch.no_grad()
def perturbed(t, gen):
    """t moved by at least 5% of |t| + 0.01: every element changes even after rounding to bf16 (8-bit mantissa)."""
    x = t.float()
    sign = torch.where(torch.rand(x.shape, generator=gen) < 0.5, -1.0, 1.0)
    mag = (0.05 * x.abs() + 0.01) * (1.0 + torch.rand(x.shape, generator=gen))
    return x + sign * mag


@torch.no_grad()
def perturb_model_(model, gen):
    seen = set()
    for name, t in model.state_dict(keep_vars=True).items():
        if not torch.is_floating_point(t) or t.data_ptr() in seen:
            continue
        seen.add(t.data_ptr())
        t.data.copy_(perturbed(t.data, gen).to(t.dtype))


def compare_pair(base_dir, sft_dir):
    """Every tensor name/shape equal in both; count elements that did NOT change (must be 0)."""
    a, b = load_all(base_dir), load_all(sft_dir)
    res = dict(same_names=sorted(a) == sorted(b), n_tensors=len(a), unchanged_elements=0, shape_mismatch=[])
    for k in a:
        if k not in b:
            continue
        if list(a[k].shape) != list(b[k].shape):
            res["shape_mismatch"].append(k)
            continue
        if torch.is_floating_point(a[k]):
            res["unchanged_elements"] += int((a[k].float() == b[k].float()).sum())
    return res


def find_layers(model, n_layers):
    best = None
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.ModuleList) and re.search(r"(^|\.)layers$", name) and len(m) == n_layers:
            if best is None or len(name) < len(best[0]):
                best = (name, m)
    return best


def bare_class(m, prefix):
    """Class name without the model's own prefix: KimiLinearAttention -> Attention (not a 'Linear' one)."""
    cls = type(m).__name__
    return cls[len(prefix):] if prefix and cls.startswith(prefix) else cls


def softmax_attention_modules(layer, prefix):
    """Outermost submodules that run softmax attention, judged by class name and a query projection."""
    found = []
    for rel, m in layer.named_modules():
        cls = bare_class(m, prefix)
        if "Attention" not in cls or any(s in cls for s in NON_SOFTMAX):
            continue
        names = {n for n, _ in m.named_children()}
        if not names & {"q_proj", "qkv_proj", "q_a_proj", "q_b_proj", "query_key_value"}:
            continue
        if any(rel.startswith(p + ".") for p, _ in found):
            continue
        found.append((rel, m))
    return found


def saved_name_for(module_name, saved_names):
    """The file name of a tensor when save_pretrained renamed its prefix (NemotronH: model. -> backbone.)."""
    if module_name in saved_names:
        return module_name
    m = re.search(r"(^|\.)(layers\.\d+\..*)$", module_name)
    if not m:
        return None
    hits = [k for k in saved_names if k == m.group(2) or k.endswith("." + m.group(2))]
    return hits[0] if len(hits) == 1 else None


def layer_report(model, cfg, saved_names):
    prefix = re.sub(r"(For[A-Z].*|Model)$", "", type(model).__name__)
    text_cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
    n = text_cfg.num_hidden_layers
    hit = find_layers(model, n)
    if hit is None:
        raise RuntimeError(f"no ModuleList named *layers with {n} entries")
    layers_path, layers = hit
    # every alias of a tensor in the model's state_dict -> the one name save_pretrained kept
    by_ptr = {}
    for k, v in model.state_dict(keep_vars=True).items():
        by_ptr.setdefault(v.data_ptr(), []).append(k)
    cfg_types = getattr(text_cfg, "layer_types", None)
    rows, global_layers, sliding_layers, linear_layers, mlp_layers = [], [], [], [], []
    for i, layer in enumerate(layers):
        children = sorted({type(c).__name__ for _, c in layer.named_children()})
        attns = softmax_attention_modules(layer, prefix)
        recurrent = sorted({type(m).__name__ for _, m in layer.named_modules()
                            if any(s in bare_class(m, prefix) for s in RECURRENT) and "Layer" not in type(m).__name__})
        row = dict(index=i, layer_class=type(layer).__name__, children=children,
                   config_layer_type=(cfg_types[i] if isinstance(cfg_types, (list, tuple)) and i < len(cfg_types)
                                      else None),
                   recurrent_modules=recurrent, attention=[])
        kind = None
        for rel, m in attns:
            sw = getattr(m, "sliding_window", None)
            is_sl = bool(getattr(m, "is_sliding", False)) or (sw not in (None, 0, False))
            kind = "sliding" if is_sl and kind != "global" else "global"
            mod_path = f"{layers_path}.{i}.{rel}"
            tensors = []
            for pname, p in list(m.named_parameters(recurse=True)) + list(m.named_buffers(recurse=True)):
                full = f"{mod_path}.{pname}"
                aliases = by_ptr.get(p.data_ptr(), [full])
                saved = [a for a in aliases if a in saved_names] or [x for x in [saved_name_for(full, saved_names)] if x]
                tensors.append(dict(module_name=full, saved_name=(saved[0] if saved else None),
                                    aliases=aliases if len(aliases) > 1 else None, role=qk_role(pname),
                                    shape=list(p.shape), dtype=str(p.dtype).replace("torch.", "")))
            row["attention"].append(dict(module=mod_path, cls=type(m).__name__, sliding_window=sw,
                                         is_sliding=getattr(m, "is_sliding", None),
                                         num_heads=getattr(m, "num_heads", getattr(text_cfg, "num_attention_heads", None)),
                                         head_dim=getattr(m, "head_dim", None), tensors=tensors))
        if kind is None:
            kind = "linear" if recurrent else "mlp_only"
        row["kind"] = kind
        {"global": global_layers, "sliding": sliding_layers, "linear": linear_layers,
         "mlp_only": mlp_layers}[kind].append(i)
        if kind not in ("global", "sliding"):
            # names a name-only matcher would wrongly take for query/key projections
            pre = re.compile(r"(^|\.)layers\." + str(i) + r"\.")
            row["qk_like_names_in_non_softmax_layer"] = sorted(
                k for k in saved_names if pre.search(k) and re.search(r"\.(q_proj|k_proj|qkv_proj|q_norm|k_norm)\.", k))
        rows.append(row)
    return dict(layers_module_path=layers_path, num_layers=n, global_layers=global_layers,
                sliding_layers=sliding_layers, linear_layers=linear_layers, mlp_only_layers=mlp_layers, layers=rows)


def qk_summary(rep):
    out = {}
    for row in rep["layers"]:
        if row["kind"] != "global":
            continue
        out[str(row["index"])] = [dict(saved_name=t["saved_name"], module_name=t["module_name"], role=t["role"],
                                       shape=t["shape"])
                                  for a in row["attention"] for t in a["tensors"] if t["role"]]
    return out


class TooBig(Exception):
    pass


def build(att):
    cfg_cls = getattr(transformers, att["cfg"])
    model_cls = getattr(transformers, att["model"])
    cfg = cfg_cls(**att["kwargs"])
    try:
        with torch.device("meta"):
            meta = model_cls(cfg)
        n = sum(p.numel() for p in meta.parameters())
        del meta
        if n > MAX_PARAMS:
            raise TooBig(f"{att['model']} would have {n} parameters: a size key was not taken")
    except TooBig:
        raise
    except Exception as e:  # meta construction unsupported: build for real, the guard below still counts
        log(f"   (meta build failed: {e!r})")
    model = model_cls(cfg)
    n = sum(p.numel() for p in model.parameters())
    if n > MAX_PARAMS:
        raise TooBig(f"{att['model']} has {n} parameters: a size key was not taken")
    return cfg, model, model_cls


def reload_info(model_cls, d):
    try:
        m, info = model_cls.from_pretrained(d, output_loading_info=True)
        return {k: sorted(map(str, v))[:20] for k, v in info.items() if v}
    except Exception as e:
        return dict(error=repr(e)[:500])


def config_layer_keys(path):
    with open(path) as f:
        c = json.load(f)
    out = {k: v for k, v in c.items() if k in LAYER_KEYS}
    for sub in ("text_config",):
        if isinstance(c.get(sub), dict):
            out[sub] = {k: v for k, v in c[sub].items() if k in LAYER_KEYS}
    return out


def make_family(name, spec, out_root, seed):
    d = os.path.join(out_root, name)
    shutil.rmtree(d, ignore_errors=True)
    errors = []
    for att in spec["attempts"]:
        try:
            torch.manual_seed(seed)
            cfg, model, model_cls = build(att)
            break
        except Exception as e:
            errors.append(f"{att['cfg']}/{att['model']}: {e!r}"[:1500])
    else:
        raise RuntimeError(" | ".join(errors))
    model.eval()
    storage = spec["storage"]
    base_dir, sft_dir = os.path.join(d, "base"), os.path.join(d, "sft")
    model.to(dtype_of(storage, "base")).save_pretrained(base_dir, max_shard_size=shard_size(storage))
    saved = saved_tensors(base_dir)
    rep = layer_report(model, cfg, set(saved))
    model_keys = set(model.state_dict().keys())
    gen = torch.Generator().manual_seed(seed + 1)
    perturb_model_(model, gen)
    model.to(dtype_of(storage, "sft")).save_pretrained(sft_dir, max_shard_size=shard_size(storage))
    manifest = dict(
        name=name, family=spec["base_family"], model_type=cfg.model_type,
        transformers_class=att["model"], config_class=att["cfg"], transformers_version=transformers.__version__,
        torch_version=torch.__version__, storage=storage,
        attempts_failed=errors or None, config_kwargs_given=att["kwargs"],
        config_json_layer_keys=config_layer_keys(os.path.join(base_dir, "config.json")),
        files=dict(base=sorted(os.listdir(base_dir)), sft=sorted(os.listdir(sft_dir))),
        saved_tensor_count=len(saved),
        saved_names_not_in_model_state_dict=sorted(set(saved) - model_keys)[:30],
        model_state_dict_names_not_saved=sorted(model_keys - set(saved))[:30],
        saved_tensors={k: [v[1], v[2]] for k, v in sorted(saved.items())},
        base_vs_sft=compare_pair(base_dir, sft_dir),
        reload_base=reload_info(model_cls, base_dir),
        global_qk_tensors=None, **{k: rep[k] for k in ("layers_module_path", "num_layers", "global_layers",
                                                        "sliding_layers", "linear_layers", "mlp_only_layers")},
        layers=rep["layers"])
    manifest["global_qk_tensors"] = qk_summary(rep)
    with open(os.path.join(base_dir, "config.json")) as f:
        annotate(manifest, json.load(f))
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, default=str)
    return manifest


def write_nemotron_pattern_variant(out_root):
    """Released Nemotron-H config.json: hybrid_override_pattern instead of layers_block_type."""
    src = os.path.join(out_root, "nemotron_h")
    d = os.path.join(out_root, "nemotron_h_pattern")
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(src, d)
    sym = {"linear_attention": "M", "full_attention": "*", "mlp": "-", "moe": "E"}
    for which in ("base", "sft"):
        p = os.path.join(d, which, "config.json")
        with open(p) as f:
            c = json.load(f)
        types = c.pop("layers_block_type")
        c["hybrid_override_pattern"] = "".join(sym[t] for t in types)
        c["num_hidden_layers"] = len(types)
        c["auto_map"] = {"AutoConfig": "configuration_nemotron_h.NemotronHConfig",
                         "AutoModelForCausalLM": "modeling_nemotron_h.NemotronHForCausalLM"}
        with open(p, "w") as f:
            json.dump(c, f, indent=2)
    with open(os.path.join(d, "manifest.json")) as f:
        m = json.load(f)
    m["name"] = "nemotron_h_pattern"
    m["note"] = ("same tensors as nemotron_h; config.json rewritten as released checkpoints have it "
                 "(hybrid_override_pattern, num_hidden_layers, auto_map; no layers_block_type)")
    m["config_json_layer_keys"] = config_layer_keys(os.path.join(d, "base", "config.json"))
    cls = getattr(transformers, "NemotronHForCausalLM")
    m["reload_base"] = reload_info(cls, os.path.join(d, "base"))
    try:
        cfg = transformers.AutoConfig.from_pretrained(os.path.join(d, "base"), trust_remote_code=False)
        m["reloaded_config_layers_block_type"] = list(cfg.layers_block_type)
    except Exception as e:
        m["reloaded_config_layers_block_type"] = repr(e)[:500]
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(m, f, indent=1, default=str)
    return m


# ---------------------------------------------------------------- custom-code families
def randn(gen, *shape, std=0.02):
    return torch.randn(*shape, generator=gen) * std


def custom_pair(out_root, name, config, tensors, manifest_extra, seed):
    """Write base/ and sft/ with the safetensors library (what save_pretrained of the custom class writes)."""
    d = os.path.join(out_root, name)
    shutil.rmtree(d, ignore_errors=True)
    gen = torch.Generator().manual_seed(seed + 1)
    for which in ("base", "sft"):
        os.makedirs(os.path.join(d, which))
        ts = tensors if which == "base" else {k: perturbed(v, gen) for k, v in tensors.items()}
        save_file({k: v.to(torch.bfloat16).contiguous() for k, v in ts.items()},
                  os.path.join(d, which, "model.safetensors"), metadata={"format": "pt"})
        with open(os.path.join(d, which, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
    saved = saved_tensors(os.path.join(d, "base"))
    m = dict(name=name, family=name, model_type=config["model_type"], transformers_class=None,
             storage="bf16", files=dict(base=sorted(os.listdir(os.path.join(d, "base"))),
                                        sft=sorted(os.listdir(os.path.join(d, "sft")))),
             config_json_layer_keys=config_layer_keys(os.path.join(d, "base", "config.json")),
             saved_tensor_count=len(saved), saved_tensors={k: [v[1], v[2]] for k, v in sorted(saved.items())},
             base_vs_sft=compare_pair(os.path.join(d, "base"), os.path.join(d, "sft")), **manifest_extra)
    annotate(m, config)
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(m, f, indent=1, default=str)
    return m


def qk_rows(prefix, names):
    return [dict(saved_name=f"{prefix}.{n}", role=qk_role(n)) for n in names if qk_role(n)]


def make_hypenet(out_root, seed):
    # source: github.com/thunlp/hybrid-linear-attention halo/configs/model/hypenet/hypenet-2b.json,
    # halo/modeling/hypenet/{modeling_hypenet,lightning_attn}.py, attn-layer-selection/.../modeling_qwen3.py
    H, KV, hd, hid, inter, n = 4, 2, 8, 32, 32, 6
    mixer = ["lightning-attn", "attn", "lightning-attn", "lightning-attn", "attn", "lightning-attn"]
    config = {
        "architectures": ["HypeNetForCausalLM"],
        "auto_map": {"AutoConfig": "configuration_hypenet.HypeNetConfig",
                     "AutoModel": "modeling_hypenet.HypeNetModel",
                     "AutoModelForCausalLM": "modeling_hypenet.HypeNetForCausalLM"},
        "attention_bias": False, "attention_dropout": 0.0, "attn_logits_scaling": None, "attn_use_rope": False,
        "attn_use_output_gate": True, "bos_token_id": 1, "eos_token_id": 2, "expand_kv_proj": True,
        "head_dim": hd, "hidden_act": "silu", "hidden_size": hid, "initializer_range": 0.02,
        "intermediate_size": inter, "lightning_use_rope": True, "lightning_rope_scaling": None,
        "lightning_nh": H, "lightning_nkv": H, "lightning_head_dim": hd, "lightning_scale": "1/sqrt(d)",
        "lightning_use_qk_norm": True, "lightning_use_output_norm": True, "lightning_use_output_gate": True,
        "max_position_embeddings": 1048576, "mixer_types": mixer, "model_type": "hypenet",
        "num_attention_heads": H, "num_hidden_layers": n, "num_key_value_heads": KV, "rms_norm_eps": 1e-06,
        "rope_scaling": None, "rope_theta": 1000000, "tie_word_embeddings": True, "torch_dtype": "bfloat16",
        "transformers_version": "4.57.6", "use_cache": True, "vocab_size": VOCAB}
    g = torch.Generator().manual_seed(seed)
    t = {"model.embed_tokens.weight": randn(g, VOCAB, hid), "model.norm.weight": 1 + randn(g, hid)}
    layers = []
    for i, mt in enumerate(mixer):
        p = f"model.layers.{i}"
        t[f"{p}.input_layernorm.weight"] = 1 + randn(g, hid)
        t[f"{p}.post_attention_layernorm.weight"] = 1 + randn(g, hid)
        for w, shp in (("gate_proj", (inter, hid)), ("up_proj", (inter, hid)), ("down_proj", (hid, inter))):
            t[f"{p}.mlp.{w}.weight"] = randn(g, *shp)
        a = f"{p}.self_attn"
        if mt == "attn":  # Qwen3Attention of HypeNet: q/k norms, sigmoid output gate o_gate, NoPE
            shapes = {"q_proj.weight": (H * hd, hid), "k_proj.weight": (KV * hd, hid), "v_proj.weight": (KV * hd, hid),
                      "o_proj.weight": (hid, H * hd), "q_norm.weight": (hd,), "k_norm.weight": (hd,),
                      "o_gate.weight": (H * hd, hid)}
        else:  # LightningAttention: same q/k/v/o/q_norm/k_norm names, plus o_norm and z_proj (output gate)
            shapes = {"q_proj.weight": (H * hd, hid), "k_proj.weight": (H * hd, hid), "v_proj.weight": (H * hd, hid),
                      "o_proj.weight": (hid, H * hd), "q_norm.weight": (hd,), "k_norm.weight": (hd,),
                      "o_norm.weight": (H * hd,), "z_proj.weight": (H * hd, hid)}
        for k, shp in shapes.items():
            t[f"{a}.{k}"] = (1 + randn(g, *shp)) if "norm" in k else randn(g, *shp)
        layers.append(dict(index=i, kind="global" if mt == "attn" else "linear", config_layer_type=mt,
                           tensors=sorted(f"{a}.{k}" for k in shapes)))
    glob = [i for i, m in enumerate(mixer) if m == "attn"]
    extra = dict(
        source="thunlp/hybrid-linear-attention: halo/configs/model/hypenet/hypenet-2b.json (config keys), "
               "halo/modeling/hypenet/modeling_hypenet.py (HypeNetDecoderLayer: self_attn is Qwen3Attention for "
               "'attn', LightningAttention for 'lightning-attn'), halo/modeling/hypenet/lightning_attn.py, "
               "attn-layer-selection/modeling/hypenet/modeling_qwen3.py (o_gate); build_hf_ckpt.py ties lm_head",
        num_layers=n, global_layers=glob, sliding_layers=[], linear_layers=[i for i in range(n) if i not in glob],
        mlp_only_layers=[], layers=layers,
        global_qk_tensors={str(i): qk_rows(f"model.layers.{i}.self_attn",
                                           ["q_proj.weight", "k_proj.weight", "q_norm.weight", "k_norm.weight"])
                           for i in glob})
    return custom_pair(out_root, "hypenet", config, t, extra, seed)


def make_jet_nemotron(out_root, seed):
    # source: github.com/NVlabs/Jet-Nemotron jetai/modeling/configs/jetlm_2B.json,
    # jetai/modeling/hf/{modeling_jet_nemotron,jet_block,dynamic_conv}.py
    H, KV, hd, hid, inter = 4, 2, 8, 32, 32
    types = ["jet", "attn", "jet", "swa", "jet", "attn"]
    jet = {"conv_size": 4, "dconv_generator_reduction": 8, "dconv_implementation": "triton", "expand_v": 2.0,
           "head_dim": 8, "mode": "chunk", "norm_eps": "1e-5", "num_heads": 4}
    config = {
        "architectures": ["JetNemotronForCausalLM"], "attention_dropout": 0.0,
        "auto_map": {"AutoConfig": "configuration_jet_nemotron.JetNemotronConfig",
                     "AutoModelForCausalLM": "modeling_jet_nemotron.JetNemotronForCausalLM"},
        "bos_token_id": 1, "efficient_attention_config": {"jet": jet, "swa": {"window_size": 16}},
        "eos_token_id": 2, "hidden_act": "silu", "hidden_size": hid, "initializer_range": 0.02,
        "intermediate_size": inter, "layer_types": types, "max_position_embeddings": 131072,
        "max_window_layers": len(types), "model_type": "jet_nemotron", "num_attention_heads": H,
        "num_hidden_layers": len(types), "num_key_value_heads": KV, "rms_norm_eps": 1e-06, "rope_scaling": None,
        "rope_theta": 1000000.0, "tie_word_embeddings": True, "torch_dtype": "bfloat16",
        "transformers_version": "4.51.3", "use_cache": True, "use_mrope": False, "vocab_size": VOCAB}
    g = torch.Generator().manual_seed(seed)
    t = {"model.embed_tokens.weight": randn(g, VOCAB, hid), "model.norm.weight": 1 + randn(g, hid)}
    key_dim = jet["num_heads"] * jet["head_dim"]
    val_dim = int(key_dim * jet["expand_v"])
    gen_hidden = val_dim // jet["dconv_generator_reduction"]
    layers = []
    for i, lt in enumerate(types):
        p = f"model.layers.{i}"
        t[f"{p}.input_layernorm.weight"] = 1 + randn(g, hid)
        t[f"{p}.post_attention_layernorm.weight"] = 1 + randn(g, hid)
        for w, shp in (("gate_proj", (inter, hid)), ("up_proj", (inter, hid)), ("down_proj", (hid, inter))):
            t[f"{p}.mlp.{w}.weight"] = randn(g, *shp)
        a = f"{p}.self_attn"
        if lt in ("attn", "swa"):  # JetNemotronAttention (Qwen2 style: q/k/v bias, o without)
            shapes = {"q_proj.weight": (H * hd, hid), "q_proj.bias": (H * hd,), "k_proj.weight": (KV * hd, hid),
                      "k_proj.bias": (KV * hd,), "v_proj.weight": (KV * hd, hid), "v_proj.bias": (KV * hd,),
                      "o_proj.weight": (hid, H * hd)}
        else:  # JetBlock: gated delta rule with a dynamic short convolution on v
            shapes = {"q_proj.weight": (key_dim, hid), "k_proj.weight": (key_dim, hid), "v_proj.weight": (val_dim, hid),
                      "b_proj.weight": (jet["num_heads"], hid), "a_proj.weight": (jet["num_heads"], hid),
                      "A_log": (jet["num_heads"],), "dt_bias": (jet["num_heads"],),
                      "dynamic_conv1d.kernel_generator.w1.weight": (gen_hidden, hid),
                      "dynamic_conv1d.kernel_generator.w2.weight": (val_dim * jet["conv_size"], gen_hidden),
                      "dynamic_conv1d.kernel_generator.w2.bias": (val_dim * jet["conv_size"],),
                      "g_proj.weight": (val_dim, hid), "o_norm.weight": (int(jet["head_dim"] * jet["expand_v"]),),
                      "o_proj.weight": (hid, val_dim)}
        for k, shp in shapes.items():
            t[f"{a}.{k}"] = (1 + randn(g, *shp)) if "norm" in k else randn(g, *shp)
        kind = {"attn": "global", "swa": "sliding", "jet": "linear"}[lt]
        layers.append(dict(index=i, kind=kind, config_layer_type=lt, tensors=sorted(f"{a}.{k}" for k in shapes)))
    glob = [i for i, x in enumerate(types) if x == "attn"]
    extra = dict(
        source="NVlabs/Jet-Nemotron: jetai/modeling/configs/jetlm_2B.json (config keys), "
               "jetai/modeling/hf/modeling_jet_nemotron.py (JetNemotronDecoderLayer: self_attn is "
               "JetNemotronAttention for attn/swa, JetBlock for jet; q/k/v bias=True), jet_block.py, dynamic_conv.py",
        num_layers=len(types), global_layers=glob, sliding_layers=[i for i, x in enumerate(types) if x == "swa"],
        linear_layers=[i for i, x in enumerate(types) if x == "jet"], mlp_only_layers=[], layers=layers,
        global_qk_tensors={str(i): qk_rows(f"model.layers.{i}.self_attn",
                                           ["q_proj.weight", "q_proj.bias", "k_proj.weight", "k_proj.bias"])
                           for i in glob})
    return custom_pair(out_root, "jet_nemotron", config, t, extra, seed)


def main():
    out_root = sys.argv[1]
    only = set(sys.argv[2:])
    os.makedirs(out_root, exist_ok=True)
    log("transformers", transformers.__version__, "torch", torch.__version__)
    summary = {}
    for idx, (name, spec) in enumerate(FAMILIES.items()):
        if only and name not in only and spec["base_family"] not in only:
            continue
        log(f"== {name}")
        try:
            m = make_family(name, spec, out_root, 1000 + idx)
            summary[name] = dict(ok=True, model_type=m["model_type"], cls=m["transformers_class"],
                                 global_layers=m["global_layers"], sliding=m["sliding_layers"],
                                 linear=m["linear_layers"], mlp_only=m["mlp_only_layers"],
                                 unchanged=m["base_vs_sft"]["unchanged_elements"], reload=m["reload_base"],
                                 layer_keys={k: v for k, v in m["config_json_layer_keys"].items()
                                             if k in ("layer_types", "layers_block_type", "hybrid_override_pattern",
                                                      "attn_layer_indices", "attn_layer_period", "attn_layer_offset",
                                                      "hybrid_layer_ids", "linear_attn_config", "text_config")})
            log("   ok", json.dumps(summary[name], default=str)[:1500])
            if name == "nemotron_h":
                p = write_nemotron_pattern_variant(out_root)
                summary["nemotron_h_pattern"] = dict(ok=True, reload=p["reload_base"],
                                                     layers=p.get("reloaded_config_layers_block_type"))
                log("   pattern variant", json.dumps(summary["nemotron_h_pattern"], default=str)[:800])
        except Exception as e:
            summary[name] = dict(ok=False, error=repr(e)[:3000])
            log("   FAILED", traceback.format_exc()[-3000:])
    for idx, name in enumerate(CUSTOM):
        if only and name not in only:
            continue
        log(f"== {name} (custom code, safetensors library)")
        try:
            m = (make_hypenet if name == "hypenet" else make_jet_nemotron)(out_root, 5000 + idx)
            summary[name] = dict(ok=True, global_layers=m["global_layers"], unchanged=m["base_vs_sft"]["unchanged_elements"])
        except Exception as e:
            summary[name] = dict(ok=False, error=repr(e)[:3000])
            log("   FAILED", traceback.format_exc()[-3000:])
    with open(os.path.join(out_root, "summary.json"), "w") as f:
        json.dump(dict(transformers=transformers.__version__, torch=torch.__version__, families=summary), f,
                  indent=1, default=str)
    log("done:", sum(v["ok"] for v in summary.values()), "of", len(summary), "ok")


if __name__ == "__main__":
    main()
