// Feed-forward blocks: the SwiGLU MLP (down(silu(gate x) * up x)) and Qwen3-Next's sparse MoE
// (softmax router, top-k experts, optional renormalisation of the top-k weights, plus a shared
// expert scaled by sigmoid(shared_expert_gate x)).
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "arch/engine_tensors.hpp"
#include "engine/weights.hpp"

namespace qk::engine {

class FeedForward {
 public:
  virtual ~FeedForward() = default;
  // x: [rows, hidden], y: [rows, hidden] (overwritten)
  virtual void forward(const float* x, std::size_t rows, float* y) const = 0;
  virtual std::size_t weight_bytes() const = 0;
  virtual std::size_t active_weight_bytes() const = 0;  // read per token
  // In-memory surgery (src/heads): the weight of an mlp.* / moe.* role (of routed expert `expert`), as
  // the checkpoint holds it, fp32 row-major, writable (widened to f32 on the first call); empty when it
  // is not held as one tensor (the experts of a checkpoint that stores them fused) or not in this block.
  virtual std::span<float> tensor(EngineRole role, std::size_t expert) = 0;
};

// The three tensors of one SwiGLU MLP (a dense MLP, a routed expert, the shared expert).
struct SwiGluNames {
  std::string gate, up, down;
  // The names of roles gate, up, down in layer `layer` (of routed expert `expert` for moe.expert.*).
  static SwiGluNames of(const EngineTensorNames& names, EngineRole gate, EngineRole up, EngineRole down,
                        std::size_t layer, std::size_t expert = 0);
};

class SwiGluMlp final : public FeedForward {
 public:
  enum class Part { Gate, Up, Down };
  SwiGluMlp(std::size_t hidden, std::size_t intermediate, const WeightSource& weights, const SwiGluNames& names);
  // From already-loaded matrices: gate and up [intermediate, hidden], down [hidden, intermediate].
  SwiGluMlp(std::size_t hidden, std::size_t intermediate, Matrix gate, Matrix up, Matrix down);
  void forward(const float* x, std::size_t rows, float* y) const override;
  std::size_t weight_bytes() const override { return gate_up_[0].bytes() + gate_up_[1].bytes() + down_.bytes(); }
  std::size_t active_weight_bytes() const override { return weight_bytes(); }
  const Matrix& gate() const { return gate_up_[0]; }
  const Matrix& up() const { return gate_up_[1]; }
  const Matrix& down() const { return down_; }
  // mlp.gate, mlp.up, mlp.down (as a dense MLP).
  std::span<float> tensor(EngineRole role, std::size_t expert) override;
  std::span<float> writable(Part part);

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
  // Layer `layer`'s moe.* tensors. Experts may be stored per expert (moe.expert.{gate,up,down}, the released
  // checkpoints' layout) or fused (moe.experts.gate_up [E, 2I, H], moe.experts.down [E, H, I]).
  SparseMoe(const SparseMoeShape& shape, const WeightSource& weights, const EngineTensorNames& names, std::size_t layer);
  void forward(const float* x, std::size_t rows, float* y) const override;
  std::size_t weight_bytes() const override;
  std::size_t active_weight_bytes() const override;
  // moe.router, moe.expert.{gate,up,down} (checkpoints that store experts one by one),
  // moe.shared.{gate,up,down}, moe.shared.sigmoid_gate.
  std::span<float> tensor(EngineRole role, std::size_t expert) override;

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
