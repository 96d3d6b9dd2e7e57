// Feed-forward blocks: the SwiGLU MLP (down(silu(gate x) * up x)) and Qwen3-Next's sparse MoE
// (softmax router, top-k experts, optional renormalisation of the top-k weights, plus a shared
// expert scaled by sigmoid(shared_expert_gate x)).
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "engine/weights.hpp"

namespace qk::engine {

class FeedForward {
 public:
  virtual ~FeedForward() = default;
  // x: [rows, hidden], y: [rows, hidden] (overwritten)
  virtual void forward(const float* x, std::size_t rows, float* y) const = 0;
  virtual std::size_t weight_floats() const = 0;
  virtual std::size_t active_weight_floats() const = 0;  // read per token
};

class SwiGluMlp final : public FeedForward {
 public:
  // prefix: e.g. "model.layers.3.mlp." or "model.layers.3.mlp.shared_expert."
  SwiGluMlp(std::size_t hidden, std::size_t intermediate, const WeightSource& weights, const std::string& prefix);
  // From already-loaded matrices: gate_up [2*intermediate, hidden] (gate rows first), down [hidden, intermediate].
  SwiGluMlp(std::size_t hidden, std::size_t intermediate, std::vector<float> gate_up, std::vector<float> down);
  void forward(const float* x, std::size_t rows, float* y) const override;
  std::size_t weight_floats() const override { return gate_up_.size() + down_.size(); }
  std::size_t active_weight_floats() const override { return weight_floats(); }

 private:
  std::size_t hidden_, intermediate_;
  std::vector<float> gate_up_;  // [2 * intermediate, hidden]: gate_proj rows, then up_proj rows
  std::vector<float> down_;     // [hidden, intermediate]
};

struct SparseMoeShape {
  std::size_t hidden;
  std::size_t experts, top_k, expert_intermediate, shared_intermediate;
  bool norm_topk_prob;
};

class SparseMoe final : public FeedForward {
 public:
  // prefix: "model.layers.<i>.mlp.". Experts may be stored per expert (experts.<e>.{gate,up,down}_proj.weight,
  // the released checkpoints' layout) or fused (experts.gate_up_proj [E, 2I, H], experts.down_proj [E, H, I]).
  SparseMoe(const SparseMoeShape& shape, const WeightSource& weights, const std::string& prefix);
  void forward(const float* x, std::size_t rows, float* y) const override;
  std::size_t weight_floats() const override;
  std::size_t active_weight_floats() const override;

 private:
  SparseMoeShape s_;
  std::vector<float> router_;  // [experts, hidden]
  std::vector<std::unique_ptr<SwiGluMlp>> experts_;
  std::unique_ptr<SwiGluMlp> shared_;  // absent when shared_intermediate == 0
  std::vector<float> shared_gate_;     // [1, hidden]
};

}  // namespace qk::engine
