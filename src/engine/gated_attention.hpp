// Qwen3-Next's full-attention mixer (transformers' Qwen3NextAttention): q_proj produces, per head, the
// query and an output gate ([q (head_dim) | gate (head_dim)]); zero-centred RMSNorm on q and k per head;
// partial RoPE; grouped-query softmax attention over the sequence's KV cache; output * sigmoid(gate);
// o_proj. These are the "global" layers whose q/k QK-Restore targets.
#pragma once
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "arch/engine_tensors.hpp"
#include "engine/causal_lm.hpp"
#include "engine/model_hooks.hpp"
#include "engine/kernels.hpp"
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
  // Loads layer `layer`'s attn.* tensors under the names the family's table gives them.
  GatedAttention(const GatedAttentionShape& shape, const WeightSource& weights, const EngineTensorNames& names,
                 std::size_t layer);
  void init_cache(LayerCache& cache) const;
  void forward(const float* x, std::size_t rows, const BatchRows& batch, float* y) const;
  std::size_t weight_bytes() const;
  // In-memory surgery (src/heads): the layer's weights as checkpoint tensors, fp32 row-major, writable (a bf16
  // matrix is widened to f32 on the first call, and read in f32 from then on).
  // attn.q [heads * 2 * head_dim, hidden], attn.k and attn.v [kv_heads * head_dim, hidden], attn.o,
  // attn.q_norm, attn.k_norm; empty for any other role.
  std::span<float> tensor(EngineRole role);
  // Records attention probabilities of the positions `probe` wants; null (the default) records nothing.
  void set_probe(AttentionProbe* probe, std::size_t layer) { probe_ = probe, layer_index_ = layer; }

 private:
  GatedAttentionShape s_;
  RopeTable rope_;
  std::vector<float> inv_freq_;  // [rotary_dim / 2]
  Matrix q_proj_;                // [heads * 2 * head_dim, hidden]
  Matrix kv_proj_[2];            // k_proj, v_proj: one product, [2 * kv_heads * head_dim] outputs
  Matrix o_proj_;                // [hidden, heads * head_dim]
  std::vector<float> q_norm_, k_norm_;  // [head_dim], zero-centred
  AttentionProbe* probe_ = nullptr;
  std::size_t layer_index_ = 0;
  void run_probe(const float* q, const SegmentRows& seg, std::size_t segment, const LayerCache& cache) const;
};

}  // namespace qk::engine
