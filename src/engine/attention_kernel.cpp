
#include <cblas.h>

#include <algorithm>
#include <vector>

#include "engine/exp_lanes.hpp"
#include "engine/kernels.hpp"
#include "engine/matmul.hpp"
#include "engine/simd.hpp"
#include "util/thread_pool.hpp"

namespace qk::engine {
namespace {

#if defined(__x86_64__) && defined(__GNUC__)
QK_AVX512 float row_max_avx512(const float* x, std::size_t n) {
  const std::size_t whole = n / 16 * 16;
  float max = x[0];
  __m512 vmax = _mm512_set1_ps(max);
  for (std::size_t i = 0; i < whole; i += 16) vmax = _mm512_max_ps(vmax, _mm512_loadu_ps(x + i));
  max = std::max(max, _mm512_reduce_max_ps(vmax));
  for (std::size_t i = whole; i < n; ++i) max = std::max(max, x[i]);
  return max;
}

QK_AVX512 float exp_shifted_avx512(float* x, std::size_t n, float max) {
  const std::size_t whole = n / 16 * 16;
  const __m512 m = _mm512_set1_ps(max);
  __m512 vsum = _mm512_setzero_ps();
  for (std::size_t i = 0; i < whole; i += 16) {
    const __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), m));
    _mm512_storeu_ps(x + i, e);
    vsum = _mm512_add_ps(vsum, e);
  }
  float sum = _mm512_reduce_add_ps(vsum);
  for (std::size_t i = whole; i < n; ++i) sum += x[i] = exp_approx(x[i] - max);
  return sum;
}
#endif

// The largest of x[0, n), n >= 1.
float row_max(const float* x, std::size_t n) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (cpu_has_avx512()) return row_max_avx512(x, n);
#endif
  float max = x[0];
  for (std::size_t i = 1; i < n; ++i) max = std::max(max, x[i]);
  return max;
}

// x = exp(x - max) over n values; returns their sum (float lanes: at most a block's or chunk's few hundred
// values, each at most 1).
float exp_shifted(float* x, std::size_t n, float max) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (cpu_has_avx512()) return exp_shifted_avx512(x, n, max);
#endif
  for (std::size_t i = 0; i < n; ++i) x[i] = exp_approx(x[i] - max);
  float sum = 0.0f;
  for (std::size_t i = 0; i < n; ++i) sum += x[i];
  return sum;
}

constexpr std::size_t kQueryBlock = 128;  // query rows of one prefill attention task

// Keys per step of a query block's prefill attention: its 128 x 512 scores (256 KB) stay in L2.
constexpr std::size_t kKeyChunk = 512;

// softmax(scale q K^T) V for `rows` consecutive queries of one head, the first of which sees `visible`
// keys and each next one one more (causal). q: [rows, q_stride]; out: [rows, q_stride]; keys/values of
// this head's kv head: [past + n, kv_stride]; scores: scratch of rows * kKeyChunk floats.
// The keys go by in chunks with FlashAttention's online softmax (Dao et al. 2022): row r keeps its largest
// score so far m and its sum of exponentials l; a chunk's scores s give
//   m' = max(m, max s),  p = exp(s - m'),  l = l exp(m - m') + sum p,  o = o exp(m - m') + p V_chunk,
// and the row's output is o / l at the end. Each chunk is two products (gemm_f32, whose AVX-512 kernel ran
// 1.6 x OpenBLAS's Haswell sgemm here) around that update. With the whole row block at once (rows x all keys,
// 4 MB at 8K) the scores went to memory between each of their five passes; OpenBLAS gemv for one row.
void attend_block(const AttentionShape& s, const float* q, std::size_t q_stride, std::size_t rows,
                  const float* keys, const float* values, std::size_t kv_stride, std::size_t visible, float* scores,
                  float* out) {
  const std::size_t hd = s.head_dim, width = visible + rows - 1;  // keys the last row sees
  if (rows == 1) {
    // scores = scale K q;  out = V^T p
    const int ihd = static_cast<int>(hd), ldk = static_cast<int>(kv_stride), iw = static_cast<int>(width);
    thread_local std::vector<float> row;
    row.resize(width);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, iw, ihd, s.scale, keys, ldk, q, 1, 0.0f, row.data(), 1);
    softmax_inplace(row.data(), width);
    cblas_sgemv(CblasRowMajor, CblasTrans, iw, ihd, 1.0f, values, ldk, row.data(), 1, 0.0f, out, 1);
    return;
  }
  thread_local std::vector<float> largest;
  thread_local std::vector<double> total;
  largest.assign(rows, 0.0f);
  total.assign(rows, 0.0);
  for (std::size_t r = 0; r < rows; ++r) std::fill(out + r * q_stride, out + r * q_stride + hd, 0.0f);
  for (std::size_t c0 = 0; c0 < width; c0 += kKeyChunk) {
    const std::size_t chunk = std::min(kKeyChunk, width - c0);
    gemm_f32(q, q_stride, rows, hd, keys + c0 * kv_stride, kv_stride, BLayout::OutputsByInputs, chunk, scores, chunk);
    for (std::size_t r = 0; r < rows; ++r) {
      float* row = scores + r * chunk;
      const std::size_t seen = visible + r;  // keys 0 .. seen - 1
      const std::size_t valid = seen > c0 ? std::min(chunk, seen - c0) : 0;
      std::fill(row + valid, row + chunk, 0.0f);
      if (valid == 0) continue;
      for (std::size_t t = 0; t < valid; ++t) row[t] *= s.scale;
      const float chunk_max = row_max(row, valid);
      const float max = c0 == 0 ? chunk_max : std::max(largest[r], chunk_max);
      const float sum = exp_shifted(row, valid, max);
      if (c0 > 0 && max != largest[r]) {
        const float rescale = exp_approx(largest[r] - max);
        total[r] *= rescale;
        for (std::size_t d = 0; d < hd; ++d) out[r * q_stride + d] *= rescale;
      }
      largest[r] = max;
      total[r] += sum;
    }
    gemm_f32(scores, chunk, rows, chunk, values + c0 * kv_stride, kv_stride, BLayout::InputsByOutputs, hd, out, q_stride,
             /*accumulate=*/true);
  }
  for (std::size_t r = 0; r < rows; ++r) {
    const float inv = static_cast<float>(1.0 / total[r]);
    for (std::size_t d = 0; d < hd; ++d) out[r * q_stride + d] *= inv;
  }
}

// Decode attends one query position over the whole cache in blocks of this many positions, each block a task
// over all heads (flash-decoding's split of the positions): a task reads its rows of K and V whole and in order
// (every KV head's part of a row at once), where a task per KV head read every row's part of that head alone,
// kv_stride apart, at about 16 GB/s (11.5 GB/s on one thread). The blocks' results then merge in block order,
// so the outcome depends on this size, not on the thread count.
constexpr std::size_t kPositionBlock = 128;

// One block's unnormalised attention of every head: for head h, max_h = max_t s_ht over the block's positions,
// sum_h = sum_t exp(s_ht - max_h) and out_h = sum_t exp(s_ht - max_h) v_t (s_ht = scale q_h . k_t), laid out
// per head as [max, sum, out (head_dim)].
std::size_t partial_floats(const AttentionShape& s) { return s.heads * (s.head_dim + 2); }

#if defined(__x86_64__) && defined(__GNUC__)
// Rows of K this far ahead are prefetched: the hardware prefetcher alone did not keep up with them.
constexpr std::size_t kRowsAhead = 8;

// Locality 3 (prefetcht0): into L1; 2 (prefetcht1): into L2.
template <int Locality>
QK_AVX512 inline void prefetch_row(const float* row, std::size_t floats) {
  for (std::size_t i = 0; i < floats; i += 16) __builtin_prefetch(row + i, 0, Locality);
}

// A block of positions [t0, t1) as plain loops over whole rows of K and V (head_dim = 16 x Blocks):
//   scores[h][t] = scale * q_h . k_t          a row of K, then every head's dot product with its part
//   out_h = sum_t exp(scores[h][t] - max_h) v_t   heads 16 / Blocks at a time, their sums in 16 registers
// While K streams in, the block's rows of V are prefetched into L2 for the second loop.
template <std::size_t Blocks>
QK_AVX512 void attend_positions_avx512(const AttentionShape& s, const float* q, const float* keys, const float* values,
                                       std::size_t kv_stride, std::size_t t0, std::size_t t1, std::size_t visible,
                                       float* scores, float* partial) {
  constexpr std::size_t hd = 16 * Blocks, kHeads = 16 / Blocks;
  const std::size_t heads = s.heads, group = s.heads / s.kv_heads, n = t1 - t0;
  for (std::size_t t = t0; t < t1; ++t) {
    if (t + kRowsAhead < visible) prefetch_row<3>(keys + (t + kRowsAhead) * kv_stride, kv_stride);
    prefetch_row<2>(values + t * kv_stride, kv_stride);
    const float* k = keys + t * kv_stride;
    for (std::size_t h = 0; h < heads; ++h) {
      const float* kh = k + h / group * hd;
      __m512 acc = _mm512_setzero_ps();
#pragma GCC unroll 16
      for (std::size_t b = 0; b < Blocks; ++b)
        acc = _mm512_fmadd_ps(_mm512_loadu_ps(q + h * hd + 16 * b), _mm512_loadu_ps(kh + 16 * b), acc);
      scores[h * n + (t - t0)] = s.scale * _mm512_reduce_add_ps(acc);
    }
  }
  for (std::size_t h = 0; h < heads; ++h) {
    const float max = row_max(scores + h * n, n);
    partial[h * (hd + 2)] = max;
    partial[h * (hd + 2) + 1] = exp_shifted(scores + h * n, n, max);
  }
  for (std::size_t h0 = 0; h0 < heads; h0 += kHeads) {
    const std::size_t count = std::min(kHeads, heads - h0);
    __m512 acc[kHeads * Blocks];
#pragma GCC unroll 16
    for (std::size_t i = 0; i < kHeads * Blocks; ++i) acc[i] = _mm512_setzero_ps();
    for (std::size_t t = t0; t < t1; ++t) {
      const float* v = values + t * kv_stride;
#pragma GCC unroll 16
      for (std::size_t j = 0; j < kHeads; ++j) {
        if (j >= count) break;
        const float p = scores[(h0 + j) * n + (t - t0)];
        const float* vh = v + (h0 + j) / group * hd;
#pragma GCC unroll 16
        for (std::size_t b = 0; b < Blocks; ++b)
          acc[j * Blocks + b] = _mm512_fmadd_ps(_mm512_set1_ps(p), _mm512_loadu_ps(vh + 16 * b), acc[j * Blocks + b]);
      }
    }
    for (std::size_t j = 0; j < count; ++j)
      for (std::size_t b = 0; b < Blocks; ++b) _mm512_storeu_ps(partial + (h0 + j) * (hd + 2) + 2 + 16 * b, acc[j * Blocks + b]);
  }
}
#endif

// The same block through OpenBLAS (without AVX-512, or for other head sizes): per head, a gemv for the scores
// and one for the output.
void attend_positions_blas(const AttentionShape& s, const float* q, const float* keys, const float* values,
                           std::size_t kv_stride, std::size_t t0, std::size_t t1, float* scores, float* partial) {
  const std::size_t hd = s.head_dim, group = s.heads / s.kv_heads, n = t1 - t0;
  const int ihd = static_cast<int>(hd), in = static_cast<int>(n), ldk = static_cast<int>(kv_stride);
  for (std::size_t h = 0; h < s.heads; ++h) {
    const std::size_t offset = t0 * kv_stride + h / group * hd;
    float* p = scores + h * n;
    float* result = partial + h * (hd + 2);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, in, ihd, s.scale, keys + offset, ldk, q + h * hd, 1, 0.0f, p, 1);
    result[0] = row_max(p, n);
    result[1] = exp_shifted(p, n, result[0]);
    cblas_sgemv(CblasRowMajor, CblasTrans, in, ihd, 1.0f, values + offset, ldk, p, 1, 0.0f, result + 2, 1);
  }
}

void attend_positions(const AttentionShape& s, const float* q, const float* keys, const float* values,
                      std::size_t kv_stride, std::size_t t0, std::size_t t1, std::size_t visible, float* scores,
                      float* partial) {
#if defined(__x86_64__) && defined(__GNUC__)
  const bool avx512 = cpu_has_avx512();
  if (avx512 && s.head_dim == 64) return attend_positions_avx512<4>(s, q, keys, values, kv_stride, t0, t1, visible, scores, partial);
  if (avx512 && s.head_dim == 128) return attend_positions_avx512<8>(s, q, keys, values, kv_stride, t0, t1, visible, scores, partial);
  if (avx512 && s.head_dim == 256) return attend_positions_avx512<16>(s, q, keys, values, kv_stride, t0, t1, visible, scores, partial);
#endif
  (void)visible;
  attend_positions_blas(s, q, keys, values, kv_stride, t0, t1, scores, partial);
}

// One query position (decode) over `visible` positions: the blocks in parallel, then merged in order,
//   M = max_b max_b,h   out_h = sum_b exp(max_bh - M) out_bh / sum_b exp(max_bh - M) sum_bh
// (the softmax over all positions, rescaled block by block as in FlashAttention's online softmax).
void attend_one_position(const AttentionShape& s, const float* q, const float* keys, const float* values,
                         std::size_t visible, float* out) {
  const std::size_t hd = s.head_dim, kv_stride = s.kv_heads * hd, width = partial_floats(s);
  const std::size_t blocks = (visible + kPositionBlock - 1) / kPositionBlock;
  thread_local std::vector<float> partials_buffer;  // the caller's: a task's thread has its own
  partials_buffer.resize(blocks * width);
  float* const partials = partials_buffer.data();
  parallel_for(blocks, [&](std::size_t b) {
    thread_local std::vector<float> scores;
    scores.resize(s.heads * kPositionBlock);
    attend_positions(s, q, keys, values, kv_stride, b * kPositionBlock, std::min(visible, (b + 1) * kPositionBlock),
                     visible, scores.data(), partials + b * width);
  });
  for (std::size_t h = 0; h < s.heads; ++h) {
    const auto at = [&](std::size_t b) { return partials + b * width + h * (hd + 2); };
    float max = at(0)[0];
    for (std::size_t b = 1; b < blocks; ++b) max = std::max(max, at(b)[0]);
    float* o = out + h * hd;
    std::fill(o, o + hd, 0.0f);
    double sum = 0.0;
    for (std::size_t b = 0; b < blocks; ++b) {
      const float weight = exp_approx(at(b)[0] - max);
      sum += static_cast<double>(weight) * at(b)[1];
      for (std::size_t d = 0; d < hd; ++d) o[d] += weight * at(b)[2 + d];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (std::size_t d = 0; d < hd; ++d) o[d] *= inv;
  }
}

}  // namespace

void causal_attention(const AttentionShape& s, const float* q, std::size_t n, const float* keys,
                      const float* values, std::size_t past, float* out) {
  const std::size_t hd = s.head_dim, group = s.heads / s.kv_heads;
  const std::size_t q_stride = s.heads * hd, kv_stride = s.kv_heads * hd;
  if (n == 1) return attend_one_position(s, q, keys, values, past + 1, out);
  // Tasks: (head, block of queries), in parallel; each task keeps its score block in a per-thread buffer.
  const std::size_t blocks = (n + kQueryBlock - 1) / kQueryBlock;
  parallel_for(s.heads * blocks, [&](std::size_t task) {
    const std::size_t h = task % s.heads, b0 = task / s.heads * kQueryBlock;
    const std::size_t rows = std::min(kQueryBlock, n - b0), kv = h / group;
    thread_local std::vector<float> scores;
    scores.resize(rows * kKeyChunk);
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
