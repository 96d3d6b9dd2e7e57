
#include <cblas.h>

#include <algorithm>
#include <vector>

#include "engine/kernels.hpp"
#include "engine/matmul.hpp"
#include "engine/simd.hpp"
#include "util/thread_pool.hpp"

namespace qk::engine {
namespace {

constexpr std::size_t kQueryBlock = 128;  // rows of one score block: 128 x 4K floats = 2 MB at 4K context

// softmax(scale q K^T) V for `rows` consecutive queries of one head, the first of which sees `visible`
// keys and each next one one more (causal). q: [rows, q_stride]; out: [rows, q_stride]; keys/values of
// this head's kv head: [past + n, kv_stride]; scores: scratch of rows * (visible + rows - 1) floats.
// Two products around a row softmax (gemm_f32, whose AVX-512 kernel ran 1.6 x OpenBLAS's Haswell sgemm
// here; OpenBLAS gemv for one row), on the task's pool thread.
void attend_block(const AttentionShape& s, const float* q, std::size_t q_stride, std::size_t rows,
                  const float* keys, const float* values, std::size_t kv_stride, std::size_t visible, float* scores,
                  float* out) {
  const int hd = static_cast<int>(s.head_dim), ldk = static_cast<int>(kv_stride);
  const std::size_t width = visible + rows - 1;  // keys the last row sees
  const int iw = static_cast<int>(width);
  if (rows == 1) {
    // scores = scale K q;  out = V^T p
    cblas_sgemv(CblasRowMajor, CblasNoTrans, iw, hd, s.scale, keys, ldk, q, 1, 0.0f, scores, 1);
    softmax_inplace(scores, width);
    cblas_sgemv(CblasRowMajor, CblasTrans, iw, hd, 1.0f, values, ldk, scores, 1, 0.0f, out, 1);
    return;
  }
  // S = scale Q K^T;  row r keeps its first visible + r scores (causal mask);  O = P V
  gemm_f32(q, q_stride, rows, s.head_dim, keys, kv_stride, BLayout::OutputsByInputs, width, scores, width);
  for (std::size_t r = 0; r < rows; ++r) {
    float* row = scores + r * width;
    for (std::size_t t = 0; t < visible + r; ++t) row[t] *= s.scale;
    softmax_inplace(row, visible + r);
    std::fill(row + visible + r, row + width, 0.0f);
  }
  gemm_f32(scores, width, rows, width, values, kv_stride, BLayout::InputsByOutputs, s.head_dim, out, q_stride);
}

#if defined(__x86_64__) && defined(__GNUC__)
// Rows of K or V this far ahead are prefetched: a KV head's rows are kv_stride apart, and the hardware
// prefetcher did not keep up with them (the first plain loops here ran slower than OpenBLAS).
constexpr std::size_t kRowsAhead = 8;

QK_AVX512 inline void prefetch_row(const float* row, std::size_t floats) {
  for (std::size_t i = 0; i < floats; i += 16) _mm_prefetch(reinterpret_cast<const char*>(row + i), _MM_HINT_T0);
}

// attend_one_position's products as plain loops over the rows of K and V (head_dim = 16 x Blocks), each row
// read once for all the group's heads:
//   scores[g][t] = scale * q_g . k_t                 a row of K, then every head's dot product with it
//   out[g] = sum_t softmax(scores[g])[t] v_t         heads 16 / Blocks at a time, their sums in 16 registers
template <std::size_t Blocks>
QK_AVX512 void attend_one_position_avx512(const AttentionShape& s, std::size_t group, const float* q, const float* keys,
                                          const float* values, std::size_t kv_stride, std::size_t visible,
                                          float* scores, float* out) {
  constexpr std::size_t hd = 16 * Blocks, kHeads = 16 / Blocks;
  for (std::size_t t = 0; t < visible; ++t) {
    if (t + kRowsAhead < visible) prefetch_row(keys + (t + kRowsAhead) * kv_stride, hd);
    const float* k = keys + t * kv_stride;
    for (std::size_t g = 0; g < group; ++g) {
      __m512 acc = _mm512_setzero_ps();
#pragma GCC unroll 16
      for (std::size_t b = 0; b < Blocks; ++b)
        acc = _mm512_fmadd_ps(_mm512_loadu_ps(q + g * hd + 16 * b), _mm512_loadu_ps(k + 16 * b), acc);
      scores[g * visible + t] = s.scale * _mm512_reduce_add_ps(acc);
    }
  }
  for (std::size_t g = 0; g < group; ++g) softmax_inplace(scores + g * visible, visible);
  for (std::size_t g0 = 0; g0 < group; g0 += kHeads) {
    const std::size_t heads = std::min(kHeads, group - g0);
    __m512 acc[kHeads * Blocks];
#pragma GCC unroll 16
    for (std::size_t i = 0; i < kHeads * Blocks; ++i) acc[i] = _mm512_setzero_ps();
    for (std::size_t t = 0; t < visible; ++t) {
      if (t + kRowsAhead < visible) prefetch_row(values + (t + kRowsAhead) * kv_stride, hd);
      const float* v = values + t * kv_stride;
#pragma GCC unroll 16
      for (std::size_t b = 0; b < Blocks; ++b) {
        const __m512 vb = _mm512_loadu_ps(v + 16 * b);
#pragma GCC unroll 16
        for (std::size_t j = 0; j < kHeads; ++j)
          if (j < heads) acc[j * Blocks + b] = _mm512_fmadd_ps(_mm512_set1_ps(scores[(g0 + j) * visible + t]), vb, acc[j * Blocks + b]);
      }
    }
    for (std::size_t j = 0; j < heads; ++j)
      for (std::size_t b = 0; b < Blocks; ++b) _mm512_storeu_ps(out + (g0 + j) * hd + 16 * b, acc[j * Blocks + b]);
  }
}
#endif

// One query position (decode) of the `group` query heads that share a KV head: the heads are the rows, all
// seeing the same `visible` keys, so K and V are read once per KV head instead of once per query head (at
// 32K positions, 2 KV heads of 128 hold 64 MB of K and V per layer: more than a step's share of the weights).
// q, out: [group, head_dim] (a position's heads are contiguous); scores: scratch of group * visible floats.
// With AVX-512 and a head dimension of 64, 128 or 256, the loops above; otherwise two sgemm, which copy K and
// V into OpenBLAS's packed layout first.
void attend_one_position(const AttentionShape& s, std::size_t group, const float* q, const float* keys,
                         const float* values, std::size_t kv_stride, std::size_t visible, float* scores, float* out) {
#if defined(__x86_64__) && defined(__GNUC__)
  const bool avx512 = cpu_has_avx512();
  if (avx512 && s.head_dim == 64) return attend_one_position_avx512<4>(s, group, q, keys, values, kv_stride, visible, scores, out);
  if (avx512 && s.head_dim == 128) return attend_one_position_avx512<8>(s, group, q, keys, values, kv_stride, visible, scores, out);
  if (avx512 && s.head_dim == 256) return attend_one_position_avx512<16>(s, group, q, keys, values, kv_stride, visible, scores, out);
#endif
  const int hd = static_cast<int>(s.head_dim), ldk = static_cast<int>(kv_stride), iv = static_cast<int>(visible);
  const int rows = static_cast<int>(group);
  // S = scale Q K^T;  P = softmax of each row;  O = P V
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, iv, hd, s.scale, q, hd, keys, ldk, 0.0f, scores, iv);
  for (std::size_t r = 0; r < group; ++r) softmax_inplace(scores + r * visible, visible);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hd, iv, 1.0f, scores, iv, values, ldk, 0.0f, out, hd);
}

}  // namespace

void causal_attention(const AttentionShape& s, const float* q, std::size_t n, const float* keys,
                      const float* values, std::size_t past, float* out) {
  const std::size_t hd = s.head_dim, group = s.heads / s.kv_heads;
  const std::size_t q_stride = s.heads * hd, kv_stride = s.kv_heads * hd;
  if (n == 1) {
    parallel_for(s.kv_heads, [&](std::size_t kv) {
      thread_local std::vector<float> scores;
      scores.resize(group * (past + 1));
      attend_one_position(s, group, q + kv * group * hd, keys + kv * hd, values + kv * hd, kv_stride, past + 1,
                          scores.data(), out + kv * group * hd);
    });
    return;
  }
  // Tasks: (head, block of queries), in parallel; each task keeps its score block in a per-thread buffer.
  const std::size_t blocks = (n + kQueryBlock - 1) / kQueryBlock;
  parallel_for(s.heads * blocks, [&](std::size_t task) {
    const std::size_t h = task % s.heads, b0 = task / s.heads * kQueryBlock;
    const std::size_t rows = std::min(kQueryBlock, n - b0), kv = h / group;
    thread_local std::vector<float> scores;
    scores.resize(rows * (past + b0 + rows));
    attend_block(s, q + b0 * q_stride + h * hd, q_stride, rows, keys + kv * hd, values + kv * hd, kv_stride,
                 past + b0 + 1, scores.data(), out + b0 * q_stride + h * hd);
  });
}

void attention_probabilities(const AttentionShape& s, const float* q, std::size_t head, const float* keys,
                             std::size_t visible, float* probabilities) {
  const std::size_t kv = head / (s.heads / s.kv_heads);
  cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(visible), static_cast<int>(s.head_dim), s.scale,
              keys + kv * s.head_dim, static_cast<int>(s.kv_heads * s.head_dim), q, 1, 0.0f, probabilities, 1);
  softmax_inplace(probabilities, visible);
}

}  // namespace qk::engine
