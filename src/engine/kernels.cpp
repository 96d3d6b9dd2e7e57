#include "engine/kernels.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace qk::engine {

void matmul_wt(const float* x, const float* w, float* y, std::size_t rows, std::size_t in, std::size_t out,
               bool accumulate) {
  if (rows == 0 || out == 0) return;
  const float beta = accumulate ? 1.0f : 0.0f;
  if (rows == 1) {
    // One token: y[out] = w[out, in] . x[in], a matrix-vector product bound by memory bandwidth.
    cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(out), static_cast<int>(in), 1.0f, w,
                static_cast<int>(in), x, 1, beta, y, 1);
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

void softmax_inplace(float* x, std::size_t n) {
  if (n == 0) return;
  const float max = *std::max_element(x, x + n);
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (std::size_t i = 0; i < n; ++i) x[i] *= inv;
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
