// Qwen3-Next's linear-attention mixer (transformers' Qwen3NextGatedDeltaNet): fused q/k/v/z and b/a
// projections, depthwise causal conv1d + SiLU over q|k|v, l2-normalised q and k, the gated delta rule
// (gated_delta_rule.hpp), a gated RMSNorm with SiLU(z), and the output projection.
// Per-sequence memory is constant in context length: conv history [kernel-1, conv_dim] and the recurrent
// state [value heads, dk, dv].
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "arch/engine_tensors.hpp"
#include "engine/causal_lm.hpp"
#include "engine/weights.hpp"

namespace qk::engine {

struct GatedDeltaNetShape {
  std::size_t hidden;
  std::size_t key_heads, value_heads;  // value heads share key heads in groups of value_heads / key_heads
  std::size_t key_dim, value_dim;      // per head
  std::size_t conv_kernel;
  float eps;
  std::size_t key_total() const { return key_heads * key_dim; }
  std::size_t value_total() const { return value_heads * value_dim; }
  std::size_t conv_channels() const { return 2 * key_total() + value_total(); }
};

class GatedDeltaNet {
 public:
  // Loads layer `layer`'s linear.* tensors under the names the family's table gives them.
  GatedDeltaNet(const GatedDeltaNetShape& shape, const WeightSource& weights, const EngineTensorNames& names,
                std::size_t layer);
  void init_cache(LayerCache& cache) const;
  // x: [rows, hidden] (normed input), y: [rows, hidden] (mixer output, overwritten)
  void forward(const float* x, std::size_t rows, const BatchRows& batch, float* y) const;
  std::size_t weight_bytes() const;
  // In-memory surgery (src/heads): the block's weights as checkpoint tensors (linear.* roles), fp32
  // row-major, writable (matrices widened to f32 on the first call); empty for any other role. After
  // writing linear.A_log, call tensor_written(LinearALog): -exp(A_log) is kept and recomputed there.
  std::span<float> tensor(EngineRole role);
  void tensor_written(EngineRole role);

 private:
  GatedDeltaNetShape s_;
  Matrix in_proj_qkvz_;               // [2*key_total + 2*value_total, hidden], grouped per key head
  Matrix in_proj_ba_;                 // [2*value_heads, hidden], grouped per key head
  std::vector<float> conv_weight_;   // [conv_channels, kernel]
  std::vector<float> dt_bias_;       // [value_heads]
  std::vector<float> a_log_;         // A_log as the checkpoint holds it: [value_heads]
  std::vector<float> neg_A_;         // -exp(A_log): [value_heads]
  std::vector<float> norm_weight_;   // [value_dim]
  Matrix out_proj_;                   // [hidden, value_total]
};

}  // namespace qk::engine
