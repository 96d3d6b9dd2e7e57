#include "engine/kernels.hpp"

#include <cblas.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <vector>

#include "engine/op_timer.hpp"
#include "util/thread_pool.hpp"

namespace qk::engine {
namespace {

// Up to this many rows a product is bandwidth-bound (each weight is used a few times only), and sgemm,
// which first packs the whole weight matrix, reads it more than once: dot_rows reads it once. (For one
// row it also beat OpenBLAS sgemv by ~15% in engine_bench on the development machine.)
constexpr std::size_t kFewRows = 8;

// y[r][o] (+)= x[r] . w[o] for output features [o_begin, o_end). Portable version: plain dot products.
void dot_rows_portable(const float* x, std::size_t rows, const float* w, std::size_t in, std::size_t o_begin,
                       std::size_t o_end, float* y, std::size_t out, bool accumulate) {
  for (std::size_t o = o_begin; o < o_end; ++o)
    for (std::size_t r = 0; r < rows; ++r) {
      float sum = 0.0f;
      for (std::size_t i = 0; i < in; ++i) sum += w[o * in + i] * x[r * in + i];
      float& yo = y[r * out + o];
      yo = accumulate ? yo + sum : sum;
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
// The same with AVX2/FMA, rows four at a time: each 8-float chunk of a weight row is loaded once and
// multiplied into four rows' accumulators, independent chains, so the loop runs at load throughput rather
// than FMA latency. A group of two or three rows repeats its last row and drops the extra sums; a last
// single row gets four accumulators along its length.
__attribute__((target("avx2,fma"))) void dot_rows_avx2(const float* x, std::size_t rows, const float* w,
                                                      std::size_t in, std::size_t o_begin, std::size_t o_end,
                                                      float* y, std::size_t out, bool accumulate) {
  auto horizontal_sum = [](__m256 v) __attribute__((target("avx2,fma"))) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  };
  std::size_t r0 = 0;
  for (; r0 + 1 < rows; r0 += 4) {
    const float* x0 = x + r0 * in;
    const float* x1 = x + std::min(r0 + 1, rows - 1) * in;
    const float* x2 = x + std::min(r0 + 2, rows - 1) * in;
    const float* x3 = x + std::min(r0 + 3, rows - 1) * in;
    for (std::size_t o = o_begin; o < o_end; ++o) {
      const float* wo = w + o * in;
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      std::size_t i = 0;
      for (; i + 8 <= in; i += 8) {
        const __m256 wv = _mm256_loadu_ps(wo + i);
        a0 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x0 + i), a0);
        a1 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x1 + i), a1);
        a2 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x2 + i), a2);
        a3 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x3 + i), a3);
      }
      const float* xs[4] = {x0, x1, x2, x3};
      const float sums[4] = {horizontal_sum(a0), horizontal_sum(a1), horizontal_sum(a2), horizontal_sum(a3)};
      for (std::size_t k = 0; k < 4 && r0 + k < rows; ++k) {
        float sum = sums[k];
        for (std::size_t t = i; t < in; ++t) sum += wo[t] * xs[k][t];
        float& yo = y[(r0 + k) * out + o];
        yo = accumulate ? yo + sum : sum;
      }
    }
  }
  if (r0 >= rows) return;
  // A last single row (decode): four accumulators along the row instead.
  const float* xr = x + r0 * in;
  for (std::size_t o = o_begin; o < o_end; ++o) {
    const float* wo = w + o * in;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    std::size_t i = 0;
    for (; i + 32 <= in; i += 32) {
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(wo + i), _mm256_loadu_ps(xr + i), a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(wo + i + 8), _mm256_loadu_ps(xr + i + 8), a1);
      a2 = _mm256_fmadd_ps(_mm256_loadu_ps(wo + i + 16), _mm256_loadu_ps(xr + i + 16), a2);
      a3 = _mm256_fmadd_ps(_mm256_loadu_ps(wo + i + 24), _mm256_loadu_ps(xr + i + 24), a3);
    }
    float sum = horizontal_sum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < in; ++i) sum += wo[i] * xr[i];
    float& yo = y[r0 * out + o];
    yo = accumulate ? yo + sum : sum;
  }
}
#endif

void dot_rows(const float* x, std::size_t rows, const float* w, std::size_t in, std::size_t o_begin,
              std::size_t o_end, float* y, std::size_t out, bool accumulate) {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2) return dot_rows_avx2(x, rows, w, in, o_begin, o_end, y, out, accumulate);
#endif
  dot_rows_portable(x, rows, w, in, o_begin, o_end, y, out, accumulate);
}

}  // namespace

void matmul_wt(const float* x, const float* w, float* y, std::size_t rows, std::size_t in, std::size_t out,
               bool accumulate) {
  if (rows == 0 || out == 0) return;
  OpTimer timer(Op::Projection);
  const float beta = accumulate ? 1.0f : 0.0f;
  if (rows <= kFewRows) {
    // Decode (one row per sequence): bound by memory bandwidth; output features split over the pool's
    // threads, each streaming its share of the weight rows once.
    parallel_ranges(out, 64, [&](std::size_t begin, std::size_t end) {
      dot_rows(x, rows, w, in, begin, end, y, out, accumulate);
    });
    return;
  }
  // Prefill: single-threaded sgemm per block of output features, blocks spread over the pool's threads (a
  // few per thread, so a thread slowed by other processes takes fewer). Each block packs its own slice of w.
  parallel_ranges(out, 128, [&](std::size_t begin, std::size_t end) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(end - begin),
                static_cast<int>(in), 1.0f, x, static_cast<int>(in), w + begin * in, static_cast<int>(in), beta,
                y + begin, static_cast<int>(out));
  });
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

namespace {

// The reference softmax: the loops are written to vectorize, but at -O2 GCC vectorizes none of them (the
// max and the double sum are ordered reductions, the exp loop is past the cheap cost model).
QK_SIMD_CLONES void softmax_scalar(float* x, std::size_t n) {
  if (n == 0) return;
  float max = x[0];
  for (std::size_t i = 1; i < n; ++i) max = x[i] > max ? x[i] : max;
  for (std::size_t i = 0; i < n; ++i) x[i] = exp_approx(x[i] - max);
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) sum += x[i];
  const float inv = static_cast<float>(1.0 / sum);
  for (std::size_t i = 0; i < n; ++i) x[i] *= inv;
}

// GCC only: clang (the sanitized build) fuses the plain loops' multiply-adds elsewhere, so 1% of its values
// would differ in the last bit from the lanes below; its builds keep the plain loops.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
// softmax_scalar's x86-64-v3 clone, 8 lanes at a time, bit for bit (tests/engine checks it against the
// clone): the max is the same value in any order; each exp_approx lane runs the operations GCC emits for
// the scalar loop (its multiply-adds fused exactly where the clone fuses them; the clamp as max/min, equal
// for finite values); the sum stays one double accumulator in index order, so it rounds as before (it is
// now the loop's critical path: one dependent add per value); the scaling is one multiply either way.
// Rows holding an infinity or a NaN are left to the scalar code (false).
__attribute__((target("avx2,fma"))) bool softmax_avx2(float* x, std::size_t n) {
  const std::size_t whole = n / 8 * 8;
  if (whole == 0) return false;
  __m256 vmax = _mm256_loadu_ps(x), not_finite = _mm256_setzero_ps();
  for (std::size_t i = 0; i < whole; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    vmax = _mm256_max_ps(vmax, v);
    not_finite = _mm256_or_ps(not_finite, _mm256_cmp_ps(_mm256_sub_ps(v, v), _mm256_setzero_ps(), _CMP_NEQ_UQ));
  }
  if (_mm256_movemask_ps(not_finite)) return false;
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, vmax);
  float max = lanes[0];
  for (float lane : lanes) max = lane > max ? lane : max;
  for (std::size_t i = whole; i < n; ++i) {
    if (!std::isfinite(x[i])) return false;
    max = x[i] > max ? x[i] : max;
  }

  const __m256 m = _mm256_set1_ps(max), low = _mm256_set1_ps(-87.3f), high = _mm256_set1_ps(88.3f);
  const __m256 log2e = _mm256_set1_ps(1.44269504088896341f), shifter = _mm256_set1_ps(12582912.0f);
  const __m256 ln2_hi = _mm256_set1_ps(0.693359375f), ln2_lo = _mm256_set1_ps(2.12194440e-4f);
  const __m256 c0 = _mm256_set1_ps(1.9875691500e-4f), c1 = _mm256_set1_ps(1.3981999507e-3f),
               c2 = _mm256_set1_ps(8.3334519073e-3f), c3 = _mm256_set1_ps(4.1665795894e-2f),
               c4 = _mm256_set1_ps(1.6666665459e-1f), c5 = _mm256_set1_ps(5.0000001201e-1f), one = _mm256_set1_ps(1.0f);
  double sum = 0.0;
  for (std::size_t i = 0; i < whole; i += 8) {
    __m256 v = _mm256_sub_ps(_mm256_loadu_ps(x + i), m);
    v = _mm256_min_ps(_mm256_max_ps(v, low), high);
    const __m256 k = _mm256_sub_ps(_mm256_fmadd_ps(v, log2e, shifter), shifter);     // n
    __m256 r = _mm256_fnmadd_ps(k, ln2_hi, v);                                         // x - n ln2_hi
    r = _mm256_fmadd_ps(k, ln2_lo, r);                                                 // - n (-ln2_lo)
    __m256 p = _mm256_fmadd_ps(r, c0, c1);
    p = _mm256_fmadd_ps(p, r, c2);
    p = _mm256_fmadd_ps(p, r, c3);
    p = _mm256_fmadd_ps(p, r, c4);
    p = _mm256_fmadd_ps(p, r, c5);
    p = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), one);                // p r r + r + 1
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(k), _mm256_set1_epi32(127)), 23);
    _mm256_storeu_ps(x + i, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
    for (std::size_t j = i; j < i + 8; ++j) sum += x[j];
  }
  for (std::size_t i = whole; i < n; ++i) sum += x[i] = exp_approx(x[i] - max);
  const float inv = static_cast<float>(1.0 / sum);
  const __m256 vinv = _mm256_set1_ps(inv);
  for (std::size_t i = 0; i < whole; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv));
  for (std::size_t i = whole; i < n; ++i) x[i] *= inv;
  return true;
}
#endif

}  // namespace

void softmax_inplace(float* x, std::size_t n) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  // The clone resolver's condition, so the result is the clone's on every CPU.
  static const bool v3 = __builtin_cpu_supports("x86-64-v3");
  if (v3 && softmax_avx2(x, n)) return;
#endif
  softmax_scalar(x, n);
}

void softmax_reference(float* x, std::size_t n) { softmax_scalar(x, n); }

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

float* scratch(Scratch slot, std::size_t floats) {
  struct Buffer {
    std::unique_ptr<float[]> data;  // new float[n]: not value-initialised
    std::size_t size = 0;
  };
  thread_local std::array<Buffer, static_cast<std::size_t>(Scratch::Count)> buffers;
  Buffer& b = buffers[static_cast<std::size_t>(slot)];
  if (b.size < floats) {
    b.data.reset();  // free first: peak memory stays one buffer per slot
    b.data.reset(new float[floats]);
    b.size = floats;
  }
  return b.data.get();
}

}  // namespace qk::engine
