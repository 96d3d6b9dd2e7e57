#include "engine/kernels.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/op_timer.hpp"
#include "engine/parallel.hpp"

namespace qk::engine {
namespace {

// Up to this many rows a product is bandwidth-bound (each weight is used a few times only), and sgemm,
// which first packs the whole weight matrix, reads it more than once: dot_rows reads it once.
constexpr std::size_t kFewRows = 8;

// y[r][o] (+)= x[r] . w[o] for output features [o_begin, o_end): each weight row is read from memory once
// and used for every row of x while it sits in L1. Eight partial sums per dot product let the loop vectorise
// (their order is fixed, so every build gives the same bits).
QK_SIMD_CLONES void dot_rows(const float* x, std::size_t rows, const float* w, std::size_t in, std::size_t o_begin,
                             std::size_t o_end, float* y, std::size_t out, bool accumulate) {
  for (std::size_t o = o_begin; o < o_end; ++o) {
    const float* wo = w + o * in;
    for (std::size_t r = 0; r < rows; ++r) {
      const float* xr = x + r * in;
      float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      std::size_t i = 0;
      for (; i + 8 <= in; i += 8)
        for (std::size_t j = 0; j < 8; ++j) acc[j] += wo[i + j] * xr[i + j];
      float sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
      for (; i < in; ++i) sum += wo[i] * xr[i];
      float& yo = y[r * out + o];
      yo = accumulate ? yo + sum : sum;
    }
  }
}

}  // namespace

void matmul_wt(const float* x, const float* w, float* y, std::size_t rows, std::size_t in, std::size_t out,
               bool accumulate) {
  if (rows == 0 || out == 0) return;
  OpTimer timer(Op::Projection);
  const float beta = accumulate ? 1.0f : 0.0f;
  if (rows == 1) {
    // One token: y[out] = w[out, in] . x[in], a matrix-vector product bound by memory bandwidth.
    cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(out), static_cast<int>(in), 1.0f, w,
                static_cast<int>(in), x, 1, beta, y, 1);
    return;
  }
  if (rows <= kFewRows) {
    // Batched decode: output features split over the pool's threads.
    parallel_ranges(out, 64, [&](std::size_t begin, std::size_t end) {
      dot_rows(x, rows, w, in, begin, end, y, out, accumulate);
    });
    return;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(out),
              static_cast<int>(in), 1.0f, x, static_cast<int>(in), w, static_cast<int>(in), beta, y,
              static_cast<int>(out));
}

void rmsnorm(const float* x, const float* weight, float* y, std::size_t rows, std::size_t dim, float eps,
             bool zero_centred) {
  for (std::size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    float* yr = y + r * dim;
    // variance = mean(x^2), accumulated in double so the long rows of big models keep fp32 accuracy
    double sum_sq = 0.0;
    for (std::size_t i = 0; i < dim; ++i) sum_sq += static_cast<double>(xr[i]) * xr[i];
    const float inv_rms = 1.0f / std::sqrt(static_cast<float>(sum_sq / static_cast<double>(dim)) + eps);
    for (std::size_t i = 0; i < dim; ++i) {
      const float scale = zero_centred ? 1.0f + weight[i] : weight[i];
      yr[i] = (xr[i] * inv_rms) * scale;
    }
  }
}

void l2norm_inplace(float* x, std::size_t dim, float eps) {
  double sum_sq = 0.0;
  for (std::size_t i = 0; i < dim; ++i) sum_sq += static_cast<double>(x[i]) * x[i];
  const float inv = 1.0f / std::sqrt(static_cast<float>(sum_sq) + eps);
  for (std::size_t i = 0; i < dim; ++i) x[i] *= inv;
}

QK_SIMD_CLONES void softmax_inplace(float* x, std::size_t n) {
  if (n == 0) return;
  float max = x[0];
  for (std::size_t i = 1; i < n; ++i) max = x[i] > max ? x[i] : max;
  for (std::size_t i = 0; i < n; ++i) x[i] = exp_approx(x[i] - max);
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) sum += x[i];
  const float inv = static_cast<float>(1.0 / sum);
  for (std::size_t i = 0; i < n; ++i) x[i] *= inv;
}

QK_SIMD_CLONES void silu_inplace(float* x, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) x[i] = silu(x[i]);
}

QK_SIMD_CLONES void mul_silu(float* a, const float* z, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) a[i] *= silu(z[i]);
}

QK_SIMD_CLONES void mul_sigmoid(float* a, const float* z, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) a[i] *= sigmoid(z[i]);
}

QK_SIMD_CLONES void swiglu(const float* gate, const float* up, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = silu(gate[i]) * up[i];
}

void apply_rope(float* head, const float* cos, const float* sin, std::size_t rotary_dim) {
  // q_embed = q * cos + rotate_half(q) * sin, rotate_half(q) = [-q2, q1]  (transformers apply_rotary_pos_emb)
  const std::size_t half = rotary_dim / 2;
  for (std::size_t j = 0; j < half; ++j) {
    const float a = head[j], b = head[j + half];
    head[j] = a * cos[j] - b * sin[j];
    head[j + half] = b * cos[j] + a * sin[j];
  }
}

void RopeTable::inverse_frequencies(float* inv_freq) const {
  for (std::size_t i = 0; i < rotary_dim / 2; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(rotary_dim);
    inv_freq[i] = 1.0f / std::pow(theta, exponent);
  }
}

void RopeTable::at(std::int64_t position, float* cos, float* sin) const {
  std::vector<float> inv_freq(rotary_dim / 2);
  inverse_frequencies(inv_freq.data());
  for (std::size_t i = 0; i < rotary_dim / 2; ++i) {
    const float angle = static_cast<float>(position) * inv_freq[i];
    cos[i] = static_cast<float>(std::cos(static_cast<double>(angle)));
    sin[i] = static_cast<float>(std::sin(static_cast<double>(angle)));
  }
}

}  // namespace qk::engine
