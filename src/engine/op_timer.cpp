#include "engine/op_timer.hpp"

#include <atomic>

namespace qk::engine {
namespace {
constexpr std::size_t kOps = static_cast<std::size_t>(Op::Count);
std::atomic<bool> enabled{false};
// Nanoseconds per op; only the engine thread times ops, atomics keep a reader on another thread safe.
std::array<std::atomic<long long>, kOps> nanoseconds{};
}  // namespace

std::string_view op_name(Op op) {
  constexpr std::array<std::string_view, kOps> names{"projections (sgemm/gemv)", "gated delta rule", "attention",
                                                     "conv1d", "norms, gates, re-layout", "MoE routing"};
  return names[static_cast<std::size_t>(op)];
}

void enable_op_timing(bool on) { enabled.store(on, std::memory_order_relaxed); }

void reset_op_times() {
  for (auto& n : nanoseconds) n.store(0, std::memory_order_relaxed);
}

std::array<double, kOps> op_seconds() {
  std::array<double, kOps> s{};
  for (std::size_t i = 0; i < kOps; ++i) s[i] = nanoseconds[i].load(std::memory_order_relaxed) * 1e-9;
  return s;
}

OpTimer::OpTimer(Op op) : op_(op), on_(enabled.load(std::memory_order_relaxed)) {
  if (on_) start_ = std::chrono::steady_clock::now();
}

OpTimer::~OpTimer() {
  if (!on_) return;
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start_);
  nanoseconds[static_cast<std::size_t>(op_)].fetch_add(ns.count(), std::memory_order_relaxed);
}

}  // namespace qk::engine
