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
  virtual std::size_t weight_bytes() const = 0;
  virtual std::size_t active_weight_bytes() const = 0;  // read per token
  // In-memory surgery (src/heads): a weight as the checkpoint tensor `name` (below "mlp."), fp32
  // row-major, writable (widened to f32 on the first call); empty when it is not held as one tensor
  // (the experts of a checkpoint that stores them fused).
  virtual std::span<float> tensor(std::string_view name) = 0;
};

class SwiGluMlp final : public FeedForward {
 public:
  // prefix: e.g. "model.layers.3.mlp." or "model.layers.3.mlp.shared_expert."
  SwiGluMlp(std::size_t hidden, std::size_t intermediate, const WeightSource& weights, const std::string& prefix);
  // From already-loaded matrices: gate and up [intermediate, hidden], down [hidden, intermediate].
  SwiGluMlp(std::size_t hidden, std::size_t intermediate, Matrix gate, Matrix up, Matrix down);
  void forward(const float* x, std::size_t rows, float* y) const override;
  std::size_t weight_bytes() const override { return gate_up_[0].bytes() + gate_up_[1].bytes() + down_.bytes(); }
  std::size_t active_weight_bytes() const override { return weight_bytes(); }
  const Matrix& gate() const { return gate_up_[0]; }
  const Matrix& up() const { return gate_up_[1]; }
  const Matrix& down() const { return down_; }
  // "gate_proj.weight", "up_proj.weight", "down_proj.weight".
  std::span<float> tensor(std::string_view name) override;

 private:
  std::size_t hidden_, intermediate_;
  Matrix gate_up_[2];  // gate_proj, up_proj: one product, [2 * intermediate] outputs (gate first)
  Matrix down_;        // [hidden, intermediate]
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
  std::size_t weight_bytes() const override;
  std::size_t active_weight_bytes() const override;
  // "gate.weight", "experts.<e>.{gate,up,down}_proj.weight" (checkpoints that store experts one by
  // one), "shared_expert.{gate,up,down}_proj.weight", "shared_expert_gate.weight".
  std::span<float> tensor(std::string_view name) override;

 private:
  struct Route {
    std::size_t expert;
    float weight;
  };
  std::vector<Route> route(float* router_logits) const;  // the token's top-k experts, by expert index
  void forward_one(const float* x, float* y) const;

  SparseMoeShape s_;
  bool fused_experts_ = false;  // the checkpoint stores experts.gate_up_proj / experts.down_proj
  Matrix router_;  // [experts, hidden]
  std::vector<std::unique_ptr<SwiGluMlp>> experts_;
  std::unique_ptr<SwiGluMlp> shared_;  // absent when shared_intermediate == 0
  Matrix shared_gate_;                 // [1, hidden]
};

}  // namespace qk::engine
