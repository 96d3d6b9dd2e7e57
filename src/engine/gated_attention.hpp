// Qwen3-Next's full-attention mixer (transformers' Qwen3NextAttention): q_proj produces, per head, the
// query and an output gate ([q (head_dim) | gate (head_dim)]); zero-centred RMSNorm on q and k per head;
// partial RoPE; grouped-query softmax attention over the sequence's KV cache; output * sigmoid(gate);
// o_proj. These are the "global" layers whose q/k QK-Restore targets.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "engine/kernels.hpp"
#include "engine/segment_rows.hpp"
#include "engine/weights.hpp"

namespace qk::engine {

struct GatedAttentionShape {
  std::size_t hidden;
  std::size_t heads, kv_heads, head_dim;
  std::size_t rotary_dim;  // leading features of each head that RoPE rotates
  float rope_theta;
  float eps;
};

class GatedAttention {
 public:
  // prefix: "model.layers.<i>.self_attn."
  GatedAttention(const GatedAttentionShape& shape, const WeightSource& weights, const std::string& prefix);
  void init_cache(LayerCache& cache) const;
  void forward(const float* x, std::size_t rows, const BatchRows& batch, float* y) const;
  std::size_t weight_floats() const;

 private:
  GatedAttentionShape s_;
  RopeTable rope_;
  std::vector<float> inv_freq_;  // [rotary_dim / 2]
  std::vector<float> q_proj_;    // [heads * 2 * head_dim, hidden]
  std::vector<float> kv_proj_;   // k_proj then v_proj: [2 * kv_heads * head_dim, hidden]
  std::vector<float> o_proj_;    // [hidden, heads * head_dim]
  std::vector<float> q_norm_, k_norm_;  // [head_dim], zero-centred
};

}  // namespace qk::engine
