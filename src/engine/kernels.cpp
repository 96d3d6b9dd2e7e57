#include "engine/kernels.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <vector>

#include "engine/exp_lanes.hpp"
#include "util/huge_pages.hpp"
#include "util/thread_pool.hpp"

namespace qk::engine {

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

// The exponentials' sum, in double, in an order that 16 lanes can keep: value j of the first n / 8 * 8 adds
// into lane j % 16, the lanes then add as 4 vectors of 4, (v0 + v1) + (v2 + v3), that vector's lanes as
// (l0 + l1) + (l2 + l3), and the last n % 8 values after it in index order. One accumulator in index order was
// the vector softmax's critical path (an add's latency per value: a fifth of an 8K prompt's CPU samples).
double sum_in_16_lanes(const float* x, std::size_t n) {
  const std::size_t whole = n / 8 * 8;
  double lane[16] = {};
  for (std::size_t j = 0; j < whole; ++j) lane[j % 16] += x[j];
  double v[4];
  for (std::size_t l = 0; l < 4; ++l) v[l] = (lane[l] + lane[4 + l]) + (lane[8 + l] + lane[12 + l]);
  double sum = (v[0] + v[1]) + (v[2] + v[3]);
  for (std::size_t j = whole; j < n; ++j) sum += x[j];
  return sum;
}

// The reference softmax. GCC keeps the max and the double sums in order (ordered reductions); the exp loop
// vectorizes (this file's options in CMakeLists.txt).
QK_SIMD_CLONES void softmax_scalar(float* x, std::size_t n) {
  if (n == 0) return;
  float max = x[0];
  for (std::size_t i = 1; i < n; ++i) max = x[i] > max ? x[i] : max;
  for (std::size_t i = 0; i < n; ++i) x[i] = exp_approx(x[i] - max);
  const double sum = sum_in_16_lanes(x, n);
  const float inv = static_cast<float>(1.0 / sum);
  for (std::size_t i = 0; i < n; ++i) x[i] *= inv;
}

// GCC only: clang (the sanitized build) fuses the plain loops' multiply-adds elsewhere, so 1% of its values
// would differ in the last bit from the lanes below; its builds keep the plain loops.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
// softmax_scalar's x86-64-v3 clone, 8 lanes at a time, bit for bit (tests/engine checks it against the
// clone): the max is the same value in any order; each exp_approx lane (exp8) runs the operations GCC emits for
// the scalar loop (its multiply-adds fused exactly where the clone fuses them; the clamp as max/min, equal
// for finite values); the sum in sum_in_16_lanes' order, 4 vectors of 4 doubles; the scaling is one multiply
// either way.
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

  const __m256 m = _mm256_set1_ps(max);
  __m256d lanes16[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
  for (std::size_t i = 0; i < whole; i += 8) {
    const __m256 exps = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), m));
    _mm256_storeu_ps(x + i, exps);
    // sum_in_16_lanes: values i .. i + 7 go to lanes i % 16 .. i % 16 + 7, i.e. vectors (i / 4) % 4 and the next
    const std::size_t first = (i / 4) % 4;
    lanes16[first] = _mm256_add_pd(lanes16[first], _mm256_cvtps_pd(_mm256_castps256_ps128(exps)));
    lanes16[first + 1] = _mm256_add_pd(lanes16[first + 1], _mm256_cvtps_pd(_mm256_extractf128_ps(exps, 1)));
  }
  const __m256d t = _mm256_add_pd(_mm256_add_pd(lanes16[0], lanes16[1]), _mm256_add_pd(lanes16[2], lanes16[3]));
  alignas(32) double l[4];
  _mm256_store_pd(l, t);
  double sum = (l[0] + l[1]) + (l[2] + l[3]);
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
  struct FreeBuffer {
    void operator()(float* p) const { std::free(p); }
  };
  struct Slot {
    std::unique_ptr<float[], FreeBuffer> data;  // not value-initialised; huge pages from 2 MiB on
    std::size_t size = 0;
  };
  thread_local std::array<Slot, static_cast<std::size_t>(Scratch::Count)> slots;
  Slot& b = slots[static_cast<std::size_t>(slot)];
  if (b.size < floats) {
    b.data.reset();  // free first: peak memory stays one buffer per slot
    b.data.reset(static_cast<float*>(allocate_huge_page_backed(floats * sizeof(float))));
    b.size = floats;
  }
  return b.data.get();
}

}  // namespace qk::engine
