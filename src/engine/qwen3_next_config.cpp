#include "engine/qwen3_next_config.hpp"

#include <algorithm>

#include "arch/layout.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace qk::engine {
namespace {

template <typename T>
void read(const nlohmann::json& j, const char* key, T& field, const std::string& label) {
  if (auto value = optional_field<T>(j, key, label)) field = std::move(*value);  // else transformers' default
}

void require_positive(std::size_t value, const char* key, const std::string& label) {
  if (value == 0) fail(ErrorKind::Format, "{}: field '{}' must be positive", label, key);
}

}  // namespace

bool Qwen3NextConfig::is_moe(std::size_t layer) const {
  const bool mlp_only = std::find(mlp_only_layers.begin(), mlp_only_layers.end(), layer) != mlp_only_layers.end();
  return !mlp_only && num_experts > 0 && (layer + 1) % decoder_sparse_step == 0;
}

Qwen3NextConfig parse_qwen3_next_config(const nlohmann::json& j, const std::string& label) {
  Qwen3NextConfig c;
  read(j, "vocab_size", c.vocab_size, label);
  read(j, "hidden_size", c.hidden_size, label);
  read(j, "intermediate_size", c.intermediate_size, label);
  read(j, "num_hidden_layers", c.num_hidden_layers, label);
  read(j, "num_attention_heads", c.num_attention_heads, label);
  read(j, "num_key_value_heads", c.num_key_value_heads, label);
  read(j, "head_dim", c.head_dim, label);
  read(j, "rms_norm_eps", c.rms_norm_eps, label);
  read(j, "tie_word_embeddings", c.tie_word_embeddings, label);
  read(j, "attention_bias", c.attention_bias, label);
  read(j, "max_position_embeddings", c.max_position_embeddings, label);
  read(j, "linear_conv_kernel_dim", c.linear_conv_kernel_dim, label);
  read(j, "linear_key_head_dim", c.linear_key_head_dim, label);
  read(j, "linear_value_head_dim", c.linear_value_head_dim, label);
  read(j, "linear_num_key_heads", c.linear_num_key_heads, label);
  read(j, "linear_num_value_heads", c.linear_num_value_heads, label);
  read(j, "num_experts", c.num_experts, label);
  read(j, "num_experts_per_tok", c.num_experts_per_tok, label);
  read(j, "moe_intermediate_size", c.moe_intermediate_size, label);
  read(j, "shared_expert_intermediate_size", c.shared_expert_intermediate_size, label);
  read(j, "decoder_sparse_step", c.decoder_sparse_step, label);
  read(j, "norm_topk_prob", c.norm_topk_prob, label);
  read(j, "mlp_only_layers", c.mlp_only_layers, label);

  // RoPE: transformers 5 writes rope_parameters {rope_type, rope_theta, partial_rotary_factor}; older
  // files have top-level rope_theta / partial_rotary_factor / rope_scaling.
  read(j, "rope_theta", c.rope_theta, label);
  read(j, "partial_rotary_factor", c.partial_rotary_factor, label);
  for (const char* key : {"rope_parameters", "rope_scaling"}) {
    if (!j.contains(key) || j[key].is_null()) continue;
    const auto& rope = j[key];
    if (!rope.is_object()) fail(ErrorKind::Format, "{}: '{}' is not an object", label, key);
    read(rope, "rope_theta", c.rope_theta, label);
    read(rope, "partial_rotary_factor", c.partial_rotary_factor, label);
    std::string type = "default";
    read(rope, "rope_type", type, label);
    read(rope, "type", type, label);
    if (type != "default")
      fail(ErrorKind::Unsupported, "{}: {}.rope_type '{}' is not supported by the embedded engine (only 'default')",
           label, key, type);
  }
  // Checked before the cast: a factor outside [0, 1] would make it undefined (negative or past size_t).
  if (!(c.partial_rotary_factor >= 0.0 && c.partial_rotary_factor <= 1.0))
    fail(ErrorKind::Format, "{}: partial_rotary_factor {} is not between 0 and 1", label, c.partial_rotary_factor);
  c.rotary_dim = static_cast<std::size_t>(static_cast<double>(c.head_dim) * c.partial_rotary_factor);
  c.rotary_dim -= c.rotary_dim % 2;

  // Layer kinds as the architecture table (src/arch/families.json) reads them, with transformers'
  // defaults for what the config leaves out.
  nlohmann::json with_defaults = j;
  with_defaults["model_type"] = "qwen3_next";
  with_defaults["num_hidden_layers"] = c.num_hidden_layers;
  auto absent = [&](const char* key) { return !j.contains(key) || j[key].is_null(); };
  if (absent("layer_types") && absent("full_attention_interval")) with_defaults["full_attention_interval"] = 4;
  const ModelLayout layout(with_defaults, FamilyTable::builtin(), label);
  for (const auto& layer : layout.layers()) {
    if (layer.kind != LayerKind::Global && layer.kind != LayerKind::Linear)
      fail(ErrorKind::Unsupported, "{}: layer {} is {} (the engine runs qwen3_next's linear_attention and full_attention layers)",
           label, layer.index, layer_kind_name(layer.kind));
    c.layer_kinds.push_back(layer.kind);
  }

  if (j.contains("eos_token_id") && !j["eos_token_id"].is_null()) {
    const auto& eos = j["eos_token_id"];
    if (eos.is_array()) c.eos_token_ids = json_as<std::vector<std::int32_t>>(eos, label + ": eos_token_id");
    else c.eos_token_ids = {json_as<std::int32_t>(eos, label + ": eos_token_id")};
  }
  if (c.attention_bias) fail(ErrorKind::Unsupported, "{}: attention_bias true is not supported", label);
  if (j.contains("hidden_act") && j["hidden_act"] != "silu")
    fail(ErrorKind::Unsupported, "{}: hidden_act {} (the engine implements silu)", label, j["hidden_act"].dump());

  require_positive(c.vocab_size, "vocab_size", label);
  require_positive(c.hidden_size, "hidden_size", label);
  require_positive(c.num_hidden_layers, "num_hidden_layers", label);
  require_positive(c.num_attention_heads, "num_attention_heads", label);
  require_positive(c.num_key_value_heads, "num_key_value_heads", label);
  require_positive(c.head_dim, "head_dim", label);
  require_positive(c.linear_conv_kernel_dim, "linear_conv_kernel_dim", label);
  require_positive(c.linear_num_key_heads, "linear_num_key_heads", label);
  require_positive(c.linear_num_value_heads, "linear_num_value_heads", label);
  require_positive(c.decoder_sparse_step, "decoder_sparse_step", label);
  if (c.num_attention_heads % c.num_key_value_heads)
    fail(ErrorKind::Format, "{}: num_attention_heads {} is not a multiple of num_key_value_heads {}", label,
         c.num_attention_heads, c.num_key_value_heads);
  if (c.linear_num_value_heads % c.linear_num_key_heads)
    fail(ErrorKind::Format, "{}: linear_num_value_heads {} is not a multiple of linear_num_key_heads {}", label,
         c.linear_num_value_heads, c.linear_num_key_heads);
  if (c.num_experts > 0 && (c.num_experts_per_tok == 0 || c.num_experts_per_tok > c.num_experts))
    fail(ErrorKind::Format, "{}: num_experts_per_tok {} with num_experts {}", label, c.num_experts_per_tok,
         c.num_experts);
  return c;
}

}  // namespace qk::engine
