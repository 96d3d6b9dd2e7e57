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

SwiGluNames SwiGluNames::of(const EngineTensorNames& names, EngineRole gate, EngineRole up, EngineRole down,
                            std::size_t layer, std::size_t expert) {
  return {names.name(gate, layer, expert), names.name(up, layer, expert), names.name(down, layer, expert)};
}

SwiGluMlp::SwiGluMlp(std::size_t hidden, std::size_t intermediate, const WeightSource& w, const SwiGluNames& names)
    : hidden_(hidden), intermediate_(intermediate) {
  gate_up_[0] = w.matrix(names.gate, {I(intermediate), I(hidden)});
  gate_up_[1] = w.matrix(names.up, {I(intermediate), I(hidden)});
  down_ = w.matrix(names.down, {I(hidden), I(intermediate)});
}

SwiGluMlp::SwiGluMlp(std::size_t hidden, std::size_t intermediate, Matrix gate, Matrix up, Matrix down)
    : hidden_(hidden), intermediate_(intermediate), gate_up_{std::move(gate), std::move(up)}, down_(std::move(down)) {}

std::span<float> SwiGluMlp::writable(Part part) {
  switch (part) {
    case Part::Gate: return gate_up_[0].writable();
    case Part::Up: return gate_up_[1].writable();
    case Part::Down: return down_.writable();
  }
  return {};
}

std::span<float> SwiGluMlp::tensor(EngineRole role, std::size_t) {
  switch (role) {
    case EngineRole::MlpGate: return writable(Part::Gate);
    case EngineRole::MlpUp: return writable(Part::Up);
    case EngineRole::MlpDown: return writable(Part::Down);
    default: return {};
  }
}

void SwiGluMlp::forward(const float* x, std::size_t rows, float* y) const {
  const std::size_t I2 = 2 * intermediate_;
  float* gu = scratch(Scratch::MlpGateUp, rows * I2);
  float* act = scratch(Scratch::MlpAct, rows * intermediate_);
  matmul_wt(x, gate_up_, gu, rows);
  {
    OpTimer timer(Op::Elementwise);
    // act = silu(gate) * up, rows in parallel
    parallel_ranges(rows, 16, [&](std::size_t begin, std::size_t end) {
      for (std::size_t r = begin; r < end; ++r)
        swiglu(gu + r * I2, gu + r * I2 + intermediate_, act + r * intermediate_, intermediate_);
    });
  }
  matmul_wt(act, down_, y, rows);
}

SparseMoe::SparseMoe(const SparseMoeShape& s, const WeightSource& w, const EngineTensorNames& names, std::size_t layer)
    : s_(s) {
  const I H = I(s.hidden), In = I(s.expert_intermediate), E = I(s.experts);
  router_ = w.matrix(names.name(EngineRole::MoeRouter, layer), {E, H});
  fused_experts_ = names.has(EngineRole::MoeExpertsGateUp) && w.has(names.name(EngineRole::MoeExpertsGateUp, layer));
  if (fused_experts_) {
    // Views of the fused tensors: expert e's gate rows, up rows and down rows.
    const Matrix gate_up = w.matrix(names.name(EngineRole::MoeExpertsGateUp, layer), {E, 2 * In, H});
    const Matrix down = w.matrix(names.name(EngineRole::MoeExpertsDown, layer), {E, H, In});
    const std::size_t inter = s.expert_intermediate;
    for (std::size_t e = 0; e < s.experts; ++e)
      experts_.push_back(std::make_unique<SwiGluMlp>(s.hidden, inter, gate_up.rows_view(2 * inter * e, inter),
                                                     gate_up.rows_view(2 * inter * e + inter, inter),
                                                     down.rows_view(s.hidden * e, s.hidden)));
  } else {
    for (std::size_t e = 0; e < s.experts; ++e) {
      const auto expert = SwiGluNames::of(names, EngineRole::MoeExpertGate, EngineRole::MoeExpertUp, EngineRole::MoeExpertDown, layer, e);
      experts_.push_back(std::make_unique<SwiGluMlp>(s.hidden, s.expert_intermediate, w, expert));
    }
  }
  if (s.shared_intermediate > 0) {
    const auto shared = SwiGluNames::of(names, EngineRole::MoeSharedGate, EngineRole::MoeSharedUp, EngineRole::MoeSharedDown, layer);
    shared_ = std::make_unique<SwiGluMlp>(s.hidden, s.shared_intermediate, w, shared);
    shared_gate_ = w.matrix(names.name(EngineRole::MoeSharedSigmoidGate, layer), {1, H});
  }
}

std::span<float> SparseMoe::tensor(EngineRole role, std::size_t expert) {
  using Part = SwiGluMlp::Part;
  auto routed = [&](Part part) {
    return fused_experts_ || expert >= experts_.size() ? std::span<float>() : experts_[expert]->writable(part);
  };
  auto shared = [&](Part part) { return shared_ ? shared_->writable(part) : std::span<float>(); };
  switch (role) {
    case EngineRole::MoeRouter: return router_.writable();
    case EngineRole::MoeSharedSigmoidGate: return shared_gate_.writable();
    case EngineRole::MoeSharedGate: return shared(Part::Gate);
    case EngineRole::MoeSharedUp: return shared(Part::Up);
    case EngineRole::MoeSharedDown: return shared(Part::Down);
    case EngineRole::MoeExpertGate: return routed(Part::Gate);
    case EngineRole::MoeExpertUp: return routed(Part::Up);
    case EngineRole::MoeExpertDown: return routed(Part::Down);
    default: return {};
  }
}

std::size_t SparseMoe::weight_bytes() const {
  std::size_t n = router_.bytes() + shared_gate_.bytes() + (shared_ ? shared_->weight_bytes() : 0);
  for (const auto& e : experts_) n += e->weight_bytes();
  return n;
}

std::size_t SparseMoe::active_weight_bytes() const {
  return router_.bytes() + shared_gate_.bytes() + (shared_ ? shared_->weight_bytes() : 0) +
         s_.top_k * experts_.front()->weight_bytes();
}

std::vector<SparseMoe::Route> SparseMoe::route(float* logits) const {
  // probabilities = softmax(logits); keep the top k (ties: lower index first, as torch.topk on CPU returns
  // them in practice), renormalise when norm_topk_prob; listed by expert index.
  const std::size_t E = s_.experts, K = s_.top_k;
  softmax_inplace(logits, E);
  std::vector<std::size_t> order(E);
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + K, order.end(), [&](std::size_t a, std::size_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  float sum = 0.0f;
  for (std::size_t k = 0; k < K; ++k) sum += logits[order[k]];
  std::vector<Route> routes;
  for (std::size_t k = 0; k < K; ++k)
    routes.push_back({order[k], s_.norm_topk_prob ? logits[order[k]] / sum : logits[order[k]]});
  std::sort(routes.begin(), routes.end(), [](const Route& a, const Route& b) { return a.expert < b.expert; });
  return routes;
}

void SparseMoe::forward(const float* x, std::size_t rows, float* y) const {
  if (rows == 1) return forward_one(x, y);
  const std::size_t H = s_.hidden, E = s_.experts, K = s_.top_k;
  float* probs = scratch(Scratch::MoeRouterLogits, rows * E);
  matmul_wt(x, router_, probs, rows);
  std::optional<OpTimer> timer(Op::MoeRouting);
  // Each row's K routes, by expert index (rows in parallel), then each expert's rows in row order.
  std::vector<Route> routes(rows * K);
  parallel_ranges(rows, 64, [&](std::size_t begin, std::size_t end) {
    for (std::size_t r = begin; r < end; ++r) std::ranges::copy(route(probs + r * E), routes.begin() + r * K);
  });
  std::vector<std::vector<std::size_t>> rows_of(E);
  std::vector<std::vector<float>> weight_of(E);
  for (std::size_t i = 0; i < rows * K; ++i) {
    rows_of[routes[i].expert].push_back(i / K);
    weight_of[routes[i].expert].push_back(routes[i].weight);
  }
  std::size_t most = 0;
  for (const auto& picked : rows_of) most = std::max(most, picked.size());
  float* in = scratch(Scratch::MoeExpertIn, most * H);
  float* out = scratch(Scratch::MoeExpertOut, most * H);
  std::fill(y, y + rows * H, 0.0f);
  // Each expert runs once on the rows routed to it (gathered into one block), then adds them back: experts
  // one after another, so each row's sum runs in expert order; within an expert the rows are distinct, so
  // gathering and adding back run in parallel.
  for (std::size_t e = 0; e < E; ++e) {
    const auto& picked = rows_of[e];
    if (picked.empty()) continue;
    parallel_ranges(picked.size(), 16, [&](std::size_t begin, std::size_t end) {
      for (std::size_t i = begin; i < end; ++i) std::copy_n(x + picked[i] * H, H, in + i * H);
    });
    timer.reset();
    experts_[e]->forward(in, picked.size(), out);
    timer.emplace(Op::MoeRouting);
    parallel_ranges(picked.size(), 16, [&](std::size_t begin, std::size_t end) {
      for (std::size_t i = begin; i < end; ++i) {
        float* yr = y + picked[i] * H;
        const float w = weight_of[e][i];
        for (std::size_t d = 0; d < H; ++d) yr[d] += w * out[i * H + d];
      }
    });
  }
  timer.reset();
  if (shared_) {
    // y += sigmoid(x . w_gate) * shared_expert(x)
    float* shared = scratch(Scratch::MoeSharedOut, rows * H);
    float* gate = scratch(Scratch::MoeSharedGate, rows);
    shared_->forward(x, rows, shared);
    matmul_wt(x, shared_gate_, gate, rows);
    parallel_ranges(rows, 16, [&](std::size_t begin, std::size_t end) {
      for (std::size_t r = begin; r < end; ++r) {
        const float sg = sigmoid(gate[r]);
        for (std::size_t d = 0; d < H; ++d) y[r * H + d] += sg * shared[r * H + d];
      }
    });
  }
}

// One token (decode): the same arithmetic as forward's, in two parallel loops instead of two per expert: the
// picked experts' and the shared expert's gate/up products with the shared gate, then their down products.
void SparseMoe::forward_one(const float* x, float* y) const {
  const std::size_t H = s_.hidden, I = s_.expert_intermediate, S = s_.shared_intermediate;
  std::vector<float> probs(s_.experts);
  matmul_wt(x, router_, probs.data(), 1);
  const std::vector<Route> routes = route(probs.data());
  const std::size_t K = routes.size();
  std::vector<float> gate_up(K * 2 * I + 2 * S), act(K * I + S), out((K + 1) * H), shared_gate(1);
  std::vector<Product> products;
  for (std::size_t k = 0; k < K; ++k) {
    const SwiGluMlp& e = *experts_[routes[k].expert];
    products.push_back({x, &e.gate(), gate_up.data() + k * 2 * I, 2 * I});
    products.push_back({x, &e.up(), gate_up.data() + k * 2 * I + I, 2 * I});
  }
  if (shared_) {
    products.push_back({x, &shared_->gate(), gate_up.data() + K * 2 * I, 2 * S});
    products.push_back({x, &shared_->up(), gate_up.data() + K * 2 * I + S, 2 * S});
    products.push_back({x, &shared_gate_, shared_gate.data(), 1});
  }
  matmul_batch(products, 1);
  {
    OpTimer timer(Op::Elementwise);
    for (std::size_t k = 0; k < K; ++k) swiglu(gate_up.data() + k * 2 * I, gate_up.data() + k * 2 * I + I, act.data() + k * I, I);
    if (shared_) swiglu(gate_up.data() + K * 2 * I, gate_up.data() + K * 2 * I + S, act.data() + K * I, S);
  }
  products.clear();
  for (std::size_t k = 0; k < K; ++k) products.push_back({act.data() + k * I, &experts_[routes[k].expert]->down(), out.data() + k * H, H});
  if (shared_) products.push_back({act.data() + K * I, &shared_->down(), out.data() + K * H, H});
  matmul_batch(products, 1);
  // y = sum_k weight_k expert_k(x) (by expert index, as forward adds them) + sigmoid(x . w_gate) shared(x)
  OpTimer timer(Op::MoeRouting);
  std::fill(y, y + H, 0.0f);
  for (std::size_t k = 0; k < K; ++k)
    for (std::size_t d = 0; d < H; ++d) y[d] += routes[k].weight * out[k * H + d];
  if (shared_) {
    const float sg = sigmoid(shared_gate[0]);
    for (std::size_t d = 0; d < H; ++d) y[d] += sg * out[K * H + d];
  }
}

}  // namespace qk::engine
