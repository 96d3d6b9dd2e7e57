#include "engine/attention_kernel.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/kernels.hpp"
#include "engine/parallel.hpp"

namespace qk::engine {
namespace {

// softmax(scale * q K^T) V for one query row and one head, with plain loops.
void attend_row(const AttentionShape& s, const float* q, const float* keys, const float* values,
                std::size_t visible, std::size_t kv_head, float* scores, float* out) {
  const std::size_t hd = s.head_dim, kv_stride = s.kv_heads * hd;
  for (std::size_t p = 0; p < visible; ++p) {
    const float* kp = keys + p * kv_stride + kv_head * hd;
    float dot = 0.0f;
    for (std::size_t d = 0; d < hd; ++d) dot += q[d] * kp[d];
    scores[p] = dot * s.scale;
  }
  softmax_inplace(scores, visible);
  for (std::size_t d = 0; d < hd; ++d) out[d] = 0.0f;
  for (std::size_t p = 0; p < visible; ++p) {
    const float* vp = values + p * kv_stride + kv_head * hd;
    const float w = scores[p];
    for (std::size_t d = 0; d < hd; ++d) out[d] += w * vp[d];
  }
}

constexpr std::size_t kQueryBlock = 256;  // rows of the score block: 256 x 4K floats = 4 MB at 4K context

}  // namespace

void causal_attention(const AttentionShape& s, const float* q, std::size_t n, const float* keys,
                      const float* values, std::size_t past, float* out) {
  const std::size_t hd = s.head_dim, group = s.heads / s.kv_heads;
  const std::size_t q_stride = s.heads * hd, kv_stride = s.kv_heads * hd;
  if (n * (past + n) < 64 * 1024) {
    // Few tokens (decode, short prompts): one task per (token, head).
    parallel_for(n * s.heads, [&](std::size_t task) {
      const std::size_t i = task / s.heads, h = task % s.heads;
      std::vector<float> scores(past + i + 1);
      attend_row(s, q + i * q_stride + h * hd, keys, values, past + i + 1, h / group, scores.data(),
                 out + i * q_stride + h * hd);
    });
    return;
  }
  // Long blocks: per head and block of queries, S = scale Q K^T (sgemm), causal mask, row softmax,
  // O = P V (sgemm). OpenBLAS threads each product.
  std::vector<float> scores(kQueryBlock * (past + n));
  for (std::size_t h = 0; h < s.heads; ++h) {
    const std::size_t kv = h / group;
    for (std::size_t b0 = 0; b0 < n; b0 += kQueryBlock) {
      const std::size_t rows = std::min(kQueryBlock, n - b0);
      const std::size_t visible = past + b0 + rows;  // keys the last row of the block sees
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(visible),
                  static_cast<int>(hd), s.scale, q + b0 * q_stride + h * hd, static_cast<int>(q_stride),
                  keys + kv * hd, static_cast<int>(kv_stride), 0.0f, scores.data(), static_cast<int>(visible));
      for (std::size_t r = 0; r < rows; ++r) {
        float* row = scores.data() + r * visible;
        const std::size_t sees = past + b0 + r + 1;
        softmax_inplace(row, sees);
        std::fill(row + sees, row + visible, 0.0f);
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(rows), static_cast<int>(hd),
                  static_cast<int>(visible), 1.0f, scores.data(), static_cast<int>(visible), values + kv * hd,
                  static_cast<int>(kv_stride), 0.0f, out + b0 * q_stride + h * hd, static_cast<int>(q_stride));
    }
  }
}

}  // namespace qk::engine
