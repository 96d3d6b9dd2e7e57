// Wall-clock time spent per kind of operation, summed over forwards: the benchmark's breakdown of where a
// prefill or a decode step goes. Off unless enable_op_timing(true) (then one steady_clock read per op
// boundary); timers sit only around leaf operations, so the parts never overlap.
#pragma once
#include <array>
#include <chrono>
#include <cstddef>
#include <string_view>

namespace qk::engine {

enum class Op : std::size_t {
  Projection,   // weight products: matmul_wt (sgemm / gemv) of every linear layer and the lm_head
  DeltaRule,    // the gated delta rule recurrence (chunked or token by token)
  Attention,    // softmax(q K^T) V over the KV cache
  Conv,         // the short causal convolution with its SiLU
  Elementwise,  // norms, gates, RoPE, l2norm, re-layout of fused projections, residual adds
  MoeRouting,   // router softmax, top-k, gather and scatter of expert rows
  Count
};

std::string_view op_name(Op op);
void enable_op_timing(bool on);
void reset_op_times();
std::array<double, static_cast<std::size_t>(Op::Count)> op_seconds();

// Adds the wall time of its scope to `op` when timing is enabled.
class OpTimer {
 public:
  explicit OpTimer(Op op);
  ~OpTimer();
  OpTimer(const OpTimer&) = delete;
  OpTimer& operator=(const OpTimer&) = delete;

 private:
  Op op_;
  bool on_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace qk::engine
