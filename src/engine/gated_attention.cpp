#include "engine/gated_attention.hpp"

#include <cmath>
#include <optional>

#include "engine/kernels.hpp"
#include "util/thread_pool.hpp"
#include "engine/op_timer.hpp"

namespace qk::engine {
namespace {
using I = std::int64_t;
}

GatedAttention::GatedAttention(const GatedAttentionShape& s, const WeightSource& w, const EngineTensorNames& names,
                               std::size_t layer)
    : s_(s) {
  const I hidden = static_cast<I>(s.hidden), hd = static_cast<I>(s.head_dim);
  q_proj_ = w.matrix(names.name(EngineRole::AttnQ, layer), {I(s.heads) * 2 * hd, hidden});
  kv_proj_[0] = w.matrix(names.name(EngineRole::AttnK, layer), {I(s.kv_heads) * hd, hidden});
  kv_proj_[1] = w.matrix(names.name(EngineRole::AttnV, layer), {I(s.kv_heads) * hd, hidden});
  o_proj_ = w.matrix(names.name(EngineRole::AttnO, layer), {hidden, I(s.heads) * hd});
  q_norm_ = w.load(names.name(EngineRole::AttnQNorm, layer), {hd});
  k_norm_ = w.load(names.name(EngineRole::AttnKNorm, layer), {hd});
  rope_.rotary_dim = s.rotary_dim;
  rope_.theta = s.rope_theta;
  inv_freq_.resize(s.rotary_dim / 2);
  rope_.inverse_frequencies(inv_freq_.data());
}

std::size_t GatedAttention::weight_bytes() const {
  return q_proj_.bytes() + kv_proj_[0].bytes() + kv_proj_[1].bytes() + o_proj_.bytes() +
         (q_norm_.size() + k_norm_.size()) * sizeof(float);
}

void GatedAttention::init_cache(LayerCache& cache) const {
  cache.keys.clear();
  cache.values.clear();
  cache.kv_width = s_.kv_heads * s_.head_dim;
}

void GatedAttention::forward(const float* x, std::size_t rows, const BatchRows& batch, float* y) const {
  const std::size_t hd = s_.head_dim, H = s_.heads, KV = s_.kv_heads;
  const std::size_t q_width = H * hd, kv_width = KV * hd, half = s_.rotary_dim / 2;
  float* qg = scratch(Scratch::AttentionQueryGate, rows * 2 * q_width);
  float* kv = scratch(Scratch::AttentionKeyValue, rows * 2 * kv_width);
  const Product in_proj[] = {{x, &q_proj_, qg, 2 * q_width},
                             {x, &kv_proj_[0], kv, 2 * kv_width},
                             {x, &kv_proj_[1], kv + kv_width, 2 * kv_width}};
  matmul_batch(in_proj, rows);

  float* attn = scratch(Scratch::AttentionOut, rows * q_width);
  float* q = scratch(Scratch::AttentionQuery, rows * q_width);
  for (std::size_t segment = 0; segment < batch.size(); ++segment) {
    const SegmentRows& seg = batch[segment];
    LayerCache& cache = *seg.cache;
    const std::size_t past = cache.keys.size() / kv_width;
    std::optional<OpTimer> timer(Op::Elementwise);
    cache.keys.resize((past + seg.rows) * kv_width);
    cache.values.resize((past + seg.rows) * kv_width);
    // q/k norms and RoPE, rows in parallel
    parallel_ranges(seg.rows, 16, [&](std::size_t begin, std::size_t end) {
      std::vector<float> cos(half), sin(half);
      for (std::size_t i = begin; i < end; ++i) {
        const std::size_t r = seg.first_row + i;
        // cos/sin of angle = float(position) * inv_freq, as transformers' rotary embedding in fp32
        const float position = static_cast<float>(seg.position + i);
        for (std::size_t f = 0; f < half; ++f) {
          const float angle = position * inv_freq_[f];
          cos[f] = static_cast<float>(std::cos(static_cast<double>(angle)));
          sin[f] = static_cast<float>(std::sin(static_cast<double>(angle)));
        }
        for (std::size_t h = 0; h < H; ++h) {
          float* qh = q + r * q_width + h * hd;
          std::copy_n(qg + r * 2 * q_width + h * 2 * hd, hd, qh);
          rmsnorm(qh, q_norm_.data(), qh, 1, hd, s_.eps, /*zero_centred=*/true);
          apply_rope(qh, cos.data(), sin.data(), s_.rotary_dim);
        }
        float* kr = cache.keys.data() + (past + i) * kv_width;
        std::copy_n(kv + r * 2 * kv_width, kv_width, kr);
        std::copy_n(kv + r * 2 * kv_width + kv_width, kv_width, cache.values.data() + (past + i) * kv_width);
        for (std::size_t h = 0; h < KV; ++h) {
          rmsnorm(kr + h * hd, k_norm_.data(), kr + h * hd, 1, hd, s_.eps, /*zero_centred=*/true);
          apply_rope(kr + h * hd, cos.data(), sin.data(), s_.rotary_dim);
        }
      }
    });
    const AttentionShape shape{H, KV, hd, 1.0f / std::sqrt(static_cast<float>(hd))};
    timer.emplace(Op::Attention);
    causal_attention(shape, q + seg.first_row * q_width, seg.rows, cache.keys.data(), cache.values.data(),
                     past, attn + seg.first_row * q_width);
    if (probe_) run_probe(q, seg, segment, cache);
  }
  std::optional<OpTimer> timer(Op::Elementwise);
  // Output gate: attn * sigmoid(gate), gate being the second half of each head's q_proj row.
  parallel_ranges(rows, 16, [&](std::size_t begin, std::size_t end) {
    for (std::size_t r = begin; r < end; ++r)
      for (std::size_t h = 0; h < H; ++h)
        mul_sigmoid(attn + r * q_width + h * hd, qg + r * 2 * q_width + h * 2 * hd + hd, hd);
  });
  timer.reset();
  matmul_wt(attn, o_proj_, y, rows);
}

std::span<float> GatedAttention::tensor(EngineRole role) {
  switch (role) {
    case EngineRole::AttnQ: return q_proj_.writable();
    case EngineRole::AttnK: return kv_proj_[0].writable();
    case EngineRole::AttnV: return kv_proj_[1].writable();
    case EngineRole::AttnO: return o_proj_.writable();
    case EngineRole::AttnQNorm: return q_norm_;
    case EngineRole::AttnKNorm: return k_norm_;
    default: return {};
  }
}

void GatedAttention::run_probe(const float* q, const SegmentRows& seg, std::size_t segment, const LayerCache& cache) const {
  const std::size_t hd = s_.head_dim, q_width = s_.heads * hd;
  const AttentionShape shape{s_.heads, s_.kv_heads, hd, 1.0f / std::sqrt(static_cast<float>(hd))};
  std::vector<float> probabilities;
  for (std::size_t i = 0; i < seg.rows; ++i) {
    const std::size_t position = seg.position + i;
    if (!probe_->wants(segment, position)) continue;
    probabilities.resize(position + 1);
    for (std::size_t h = 0; h < s_.heads; ++h) {
      attention_probabilities(shape, q + (seg.first_row + i) * q_width + h * hd, h, cache.keys.data(), position + 1,
                              probabilities.data());
      probe_->record(layer_index_, segment, position, h, probabilities);
    }
  }
}

}  // namespace qk::engine
