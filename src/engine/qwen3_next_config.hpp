// The qwen3_next family (Qwen3-Next): hybrid decoder of Gated DeltaNet and gated full-attention layers,
// zero-centred RMSNorm (output * (1 + weight)), dense or sparse-MoE feed-forward, tied or untied embeddings.
// Here: its config.json (transformers' Qwen3NextConfig) with the defaults, and the factory (qwen3_next.cpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "arch/profile.hpp"
#include "engine/causal_lm.hpp"

namespace qk::engine {

struct Qwen3NextConfig {
  std::size_t vocab_size = 151936;
  std::size_t hidden_size = 2048;
  std::size_t intermediate_size = 5632;
  std::size_t num_hidden_layers = 48;
  std::size_t num_attention_heads = 16;
  std::size_t num_key_value_heads = 2;
  std::size_t head_dim = 256;
  float rms_norm_eps = 1e-6f;
  float rope_theta = 10000.0f;
  float partial_rotary_factor = 0.25f;
  std::size_t rotary_dim = 64;  // int(head_dim * partial_rotary_factor), as transformers truncates
  bool tie_word_embeddings = false;
  bool attention_bias = false;
  std::size_t max_position_embeddings = 32768;
  // Gated DeltaNet ("linear_attention") layers
  std::size_t linear_conv_kernel_dim = 4;
  std::size_t linear_key_head_dim = 128;
  std::size_t linear_value_head_dim = 128;
  std::size_t linear_num_key_heads = 16;
  std::size_t linear_num_value_heads = 32;
  // Mixture of experts
  std::size_t num_experts = 512;
  std::size_t num_experts_per_tok = 10;
  std::size_t moe_intermediate_size = 512;
  std::size_t shared_expert_intermediate_size = 512;
  std::size_t decoder_sparse_step = 1;
  bool norm_topk_prob = true;
  std::vector<std::size_t> mlp_only_layers;
  // One per layer, as the architecture table reads config.json (layer_types or full_attention_interval):
  // LayerKind::Linear (Gated DeltaNet) or LayerKind::Global (gated full attention).
  std::vector<LayerKind> layer_kinds;
  std::vector<std::int32_t> eos_token_ids;

  bool is_linear_attention(std::size_t layer) const { return layer_kinds[layer] == LayerKind::Linear; }
  bool is_moe(std::size_t layer) const;  // transformers' Qwen3NextDecoderLayer rule
};

// Parses and validates; throws Error(Format|Unsupported) naming `label` (the config file) and the field.
Qwen3NextConfig parse_qwen3_next_config(const nlohmann::json& config, const std::string& label);

std::unique_ptr<CausalLM> make_qwen3_next(const nlohmann::json& config, const WeightSource& weights);

}  // namespace qk::engine
