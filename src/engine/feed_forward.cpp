#include "engine/feed_forward.hpp"

#include <algorithm>
#include <numeric>
#include <optional>

#include "engine/kernels.hpp"
#include "engine/op_timer.hpp"
#include "util/thread_pool.hpp"

namespace qk::engine {
namespace {
using I = std::int64_t;
}

SwiGluMlp::SwiGluMlp(std::size_t hidden, std::size_t intermediate, const WeightSource& w, const std::string& p)
    : hidden_(hidden), intermediate_(intermediate) {
  gate_up_ = w.load(p + "gate_proj.weight", {I(intermediate), I(hidden)});
  const auto up = w.load(p + "up_proj.weight", {I(intermediate), I(hidden)});
  gate_up_.insert(gate_up_.end(), up.begin(), up.end());
  down_ = w.load(p + "down_proj.weight", {I(hidden), I(intermediate)});
}

SwiGluMlp::SwiGluMlp(std::size_t hidden, std::size_t intermediate, std::vector<float> gate_up, std::vector<float> down)
    : hidden_(hidden), intermediate_(intermediate), gate_up_(std::move(gate_up)), down_(std::move(down)) {}

void SwiGluMlp::forward(const float* x, std::size_t rows, float* y) const {
  const std::size_t I2 = 2 * intermediate_;
  float* gu = scratch(Scratch::MlpGateUp, rows * I2);
  float* act = scratch(Scratch::MlpAct, rows * intermediate_);
  matmul_wt(x, gate_up_.data(), gu, rows, hidden_, I2);
  {
    OpTimer timer(Op::Elementwise);
    // act = silu(gate) * up, rows in parallel
    parallel_ranges(rows, 16, [&](std::size_t begin, std::size_t end) {
      for (std::size_t r = begin; r < end; ++r)
        swiglu(gu + r * I2, gu + r * I2 + intermediate_, act + r * intermediate_, intermediate_);
    });
  }
  matmul_wt(act, down_.data(), y, rows, intermediate_, hidden_);
}

SparseMoe::SparseMoe(const SparseMoeShape& s, const WeightSource& w, const std::string& p) : s_(s) {
  const I H = I(s.hidden), In = I(s.expert_intermediate), E = I(s.experts);
  router_ = w.load(p + "gate.weight", {E, H});
  if (w.has(p + "experts.gate_up_proj")) {
    const auto gate_up = w.load(p + "experts.gate_up_proj", {E, 2 * In, H});
    const auto down = w.load(p + "experts.down_proj", {E, H, In});
    const std::size_t gu_size = 2 * s.expert_intermediate * s.hidden, d_size = s.hidden * s.expert_intermediate;
    for (std::size_t e = 0; e < s.experts; ++e)
      experts_.push_back(std::make_unique<SwiGluMlp>(
          s.hidden, s.expert_intermediate, std::vector<float>(gate_up.begin() + e * gu_size, gate_up.begin() + (e + 1) * gu_size),
          std::vector<float>(down.begin() + e * d_size, down.begin() + (e + 1) * d_size)));
  } else {
    for (std::size_t e = 0; e < s.experts; ++e)
      experts_.push_back(std::make_unique<SwiGluMlp>(s.hidden, s.expert_intermediate, w,
                                                     p + "experts." + std::to_string(e) + "."));
  }
  if (s.shared_intermediate > 0) {
    shared_ = std::make_unique<SwiGluMlp>(s.hidden, s.shared_intermediate, w, p + "shared_expert.");
    shared_gate_ = w.load(p + "shared_expert_gate.weight", {1, H});
  }
}

std::size_t SparseMoe::weight_floats() const {
  std::size_t n = router_.size() + shared_gate_.size() + (shared_ ? shared_->weight_floats() : 0);
  for (const auto& e : experts_) n += e->weight_floats();
  return n;
}

std::size_t SparseMoe::active_weight_floats() const {
  return router_.size() + shared_gate_.size() + (shared_ ? shared_->weight_floats() : 0) +
         s_.top_k * experts_.front()->weight_floats();
}

void SparseMoe::forward(const float* x, std::size_t rows, float* y) const {
  const std::size_t H = s_.hidden, E = s_.experts, K = s_.top_k;
  // Router: probabilities = softmax(x W_r^T); keep the top k (ties: lower index first, as torch.topk
  // on CPU returns them in practice), renormalise when norm_topk_prob.
  std::vector<float> probs(rows * E);
  matmul_wt(x, router_.data(), probs.data(), rows, H, E);
  std::optional<OpTimer> timer(Op::MoeRouting);
  std::vector<std::vector<std::size_t>> rows_of(E);
  std::vector<std::vector<float>> weight_of(E);
  std::vector<std::size_t> order(E);
  for (std::size_t r = 0; r < rows; ++r) {
    float* p = probs.data() + r * E;
    softmax_inplace(p, E);
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + K, order.end(),
                      [&](std::size_t a, std::size_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
    float sum = 0.0f;
    for (std::size_t k = 0; k < K; ++k) sum += p[order[k]];
    for (std::size_t k = 0; k < K; ++k) {
      rows_of[order[k]].push_back(r);
      weight_of[order[k]].push_back(s_.norm_topk_prob ? p[order[k]] / sum : p[order[k]]);
    }
  }
  std::fill(y, y + rows * H, 0.0f);
  // Each expert runs once on the rows routed to it (gathered into one block), then scatters back.
  std::vector<float> in, out;
  for (std::size_t e = 0; e < E; ++e) {
    const auto& picked = rows_of[e];
    if (picked.empty()) continue;
    in.resize(picked.size() * H);
    out.resize(picked.size() * H);
    for (std::size_t i = 0; i < picked.size(); ++i) std::copy_n(x + picked[i] * H, H, in.data() + i * H);
    timer.reset();
    experts_[e]->forward(in.data(), picked.size(), out.data());
    timer.emplace(Op::MoeRouting);
    for (std::size_t i = 0; i < picked.size(); ++i) {
      float* yr = y + picked[i] * H;
      const float w = weight_of[e][i];
      for (std::size_t d = 0; d < H; ++d) yr[d] += w * out[i * H + d];
    }
  }
  timer.reset();
  if (shared_) {
    // y += sigmoid(x . w_gate) * shared_expert(x)
    std::vector<float> shared(rows * H), gate(rows);
    shared_->forward(x, rows, shared.data());
    matmul_wt(x, shared_gate_.data(), gate.data(), rows, H, 1);
    for (std::size_t r = 0; r < rows; ++r) {
      const float sg = sigmoid(gate[r]);
      for (std::size_t d = 0; d < H; ++d) y[r * H + d] += sg * shared[r * H + d];
    }
  }
}

}  // namespace qk::engine
