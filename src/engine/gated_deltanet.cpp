#include "engine/gated_deltanet.hpp"

#include <cmath>
#include <optional>

#include "engine/gated_delta_rule.hpp"
#include "engine/kernels.hpp"
#include "engine/op_timer.hpp"
#include "util/thread_pool.hpp"

namespace qk::engine {
namespace {
using I = std::int64_t;
// Below this many tokens a segment runs the token-by-token recurrence; above, the chunked form.
constexpr std::size_t kChunkedFrom = 16;
}  // namespace

GatedDeltaNet::GatedDeltaNet(const GatedDeltaNetShape& s, const WeightSource& w, const EngineTensorNames& names,
                             std::size_t layer)
    : s_(s) {
  const I hidden = static_cast<I>(s.hidden);
  auto name = [&](EngineRole role) { return names.name(role, layer); };
  in_proj_qkvz_ = w.matrix(name(EngineRole::LinearInQkvz), {I(2 * s.key_total() + 2 * s.value_total()), hidden});
  in_proj_ba_ = w.matrix(name(EngineRole::LinearInBa), {I(2 * s.value_heads), hidden});
  conv_weight_ = w.load(name(EngineRole::LinearConv), {I(s.conv_channels()), 1, I(s.conv_kernel)});
  dt_bias_ = w.load(name(EngineRole::LinearDtBias), {I(s.value_heads)});
  a_log_ = w.load(name(EngineRole::LinearALog), {I(s.value_heads)});
  tensor_written(EngineRole::LinearALog);
  norm_weight_ = w.load(name(EngineRole::LinearNorm), {I(s.value_dim)});
  out_proj_ = w.matrix(name(EngineRole::LinearOut), {hidden, I(s.value_total())});
}

std::size_t GatedDeltaNet::weight_bytes() const {
  return in_proj_qkvz_.bytes() + in_proj_ba_.bytes() + out_proj_.bytes() +
         (conv_weight_.size() + dt_bias_.size() + neg_A_.size() + norm_weight_.size()) * sizeof(float);
}

std::span<float> GatedDeltaNet::tensor(EngineRole role) {
  switch (role) {
    case EngineRole::LinearInQkvz: return in_proj_qkvz_.writable();
    case EngineRole::LinearInBa: return in_proj_ba_.writable();
    case EngineRole::LinearConv: return conv_weight_;
    case EngineRole::LinearDtBias: return dt_bias_;
    case EngineRole::LinearALog: return a_log_;
    case EngineRole::LinearNorm: return norm_weight_;
    case EngineRole::LinearOut: return out_proj_.writable();
    default: return {};
  }
}

void GatedDeltaNet::tensor_written(EngineRole role) {
  if (role != EngineRole::LinearALog) return;
  neg_A_.resize(a_log_.size());
  for (std::size_t i = 0; i < a_log_.size(); ++i) neg_A_[i] = -std::exp(a_log_[i]);
}

void GatedDeltaNet::init_cache(LayerCache& cache) const {
  cache.conv.assign((s_.conv_kernel - 1) * s_.conv_channels(), 0.0f);
  cache.recurrent.assign(s_.value_heads * s_.key_dim * s_.value_dim, 0.0f);
}

void GatedDeltaNet::forward(const float* x, std::size_t rows, const BatchRows& batch, float* y) const {
  const std::size_t dk = s_.key_dim, dv = s_.value_dim, nk = s_.key_heads, nv = s_.value_heads;
  const std::size_t group = nv / nk;  // value heads per key head
  const std::size_t qkvz_width = 2 * s_.key_total() + 2 * s_.value_total();
  const std::size_t channels = s_.conv_channels(), value_total = s_.value_total();

  float* qkvz = scratch(Scratch::DeltaNetProjection, rows * qkvz_width);
  float* ba = scratch(Scratch::DeltaNetGates, rows * 2 * nv);
  const Product in_proj[] = {{x, &in_proj_qkvz_, qkvz, qkvz_width}, {x, &in_proj_ba_, ba, 2 * nv}};
  matmul_batch(in_proj, rows);

  // Un-group the projection. Per key head kh the fused row holds [q (dk) | k (dk) | v (group*dv) | z (group*dv)]
  // (transformers' fix_query_key_value_ordering); the conv runs over [all q | all k | all v]. Rows in parallel.
  float* mixed = scratch(Scratch::DeltaNetMixed, rows * channels);
  float* z = scratch(Scratch::DeltaNetZ, rows * value_total);
  float* beta = scratch(Scratch::DeltaNetBeta, rows * nv);
  float* g = scratch(Scratch::DeltaNetG, rows * nv);
  const std::size_t per_head = 2 * dk + 2 * group * dv;
  std::optional<OpTimer> timer(Op::Elementwise);
  parallel_ranges(rows, 16, [&](std::size_t begin, std::size_t end) {
    for (std::size_t r = begin; r < end; ++r) {
      const float* src = qkvz + r * qkvz_width;
      float* m = mixed + r * channels;
      for (std::size_t kh = 0; kh < nk; ++kh) {
        const float* h = src + kh * per_head;
        std::copy_n(h, dk, m + kh * dk);
        std::copy_n(h + dk, dk, m + s_.key_total() + kh * dk);
        std::copy_n(h + 2 * dk, group * dv, m + 2 * s_.key_total() + kh * group * dv);
        std::copy_n(h + 2 * dk + group * dv, group * dv, z + r * value_total + kh * group * dv);
      }
      // Per key head the b/a row holds [b (group) | a (group)].
      const float* bar = ba + r * 2 * nv;
      for (std::size_t kh = 0; kh < nk; ++kh)
        for (std::size_t j = 0; j < group; ++j) {
          const std::size_t vh = kh * group + j;
          const float b = bar[kh * 2 * group + j], a = bar[kh * 2 * group + group + j];
          beta[r * nv + vh] = sigmoid(b);                              // beta = sigmoid(b)
          g[r * nv + vh] = neg_A_[vh] * softplus(a + dt_bias_[vh]);    // g = -exp(A_log) softplus(a + dt_bias)
        }
    }
  });

  // Short convolution per sequence (channels in parallel), then l2-normalised q (scaled by dk^-0.5) and k
  // per head, rows in parallel.
  float* conv = scratch(Scratch::DeltaNetConv, rows * channels);
  timer.emplace(Op::Conv);
  for (const auto& seg : batch)
    causal_conv1d_silu(mixed + seg.first_row * channels, channels, seg.rows, channels, conv_weight_.data(),
                       s_.conv_kernel, seg.cache->conv.data(), conv + seg.first_row * channels, channels);
  timer.emplace(Op::Elementwise);
  const float q_scale = 1.0f / std::sqrt(static_cast<float>(dk));
  parallel_ranges(rows, 16, [&](std::size_t begin, std::size_t end) {
    for (std::size_t r = begin; r < end; ++r)
      for (std::size_t kh = 0; kh < nk; ++kh) {
        float* q = conv + r * channels + kh * dk;
        float* k = q + s_.key_total();
        l2norm_inplace(q, dk, 1e-6f);
        l2norm_inplace(k, dk, 1e-6f);
        for (std::size_t i = 0; i < dk; ++i) q[i] *= q_scale;
      }
  });

  // The recurrence per (sequence, value head), all in parallel; value head vh reads key head vh / group.
  // Short segments (decode) run the token-by-token form, long ones the chunked form.
  float* core = scratch(Scratch::DeltaNetCore, rows * value_total);
  timer.emplace(Op::DeltaRule);
  parallel_for(batch.size() * nv, [&](std::size_t task) {
    const SegmentRows& seg = batch[task / nv];
    const std::size_t vh = task % nv, kh = vh / group;
    const float* base = conv + seg.first_row * channels;
    HeadRows q{base + kh * dk, channels}, k{base + s_.key_total() + kh * dk, channels};
    HeadRows v{base + 2 * s_.key_total() + vh * dv, channels};
    float* state = seg.cache->recurrent.data() + vh * dk * dv;
    float* out = core + seg.first_row * value_total + vh * dv;
    const float* gs = g + seg.first_row * nv + vh;
    const float* bs = beta + seg.first_row * nv + vh;
    if (seg.rows < kChunkedFrom)
      gated_delta_rule_recurrent({dk, dv}, seg.rows, q, k, v, gs, bs, nv, state, out, value_total);
    else
      gated_delta_rule_chunked({dk, dv}, seg.rows, q, k, v, gs, bs, nv, state, out, value_total);
  });

  // Gated RMSNorm per value head: rmsnorm(o) * weight * silu(z)  (Qwen3NextRMSNormGated)
  timer.emplace(Op::Elementwise);
  parallel_ranges(rows, 16, [&](std::size_t begin, std::size_t end) {
    rmsnorm(core + begin * value_total, norm_weight_.data(), core + begin * value_total,
            (end - begin) * nv, dv, s_.eps, /*zero_centred=*/false);
    mul_silu(core + begin * value_total, z + begin * value_total, (end - begin) * value_total);
  });
  timer.reset();
  matmul_wt(core, out_proj_, y, rows);
}

}  // namespace qk::engine
