#include "engine/matmul.hpp"

#include <cblas.h>
#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "engine/op_timer.hpp"
#include "util/thread_pool.hpp"

namespace qk::engine {
namespace {

// Up to this many rows a product is bandwidth-bound (each weight is used a few times only), and a GEMM,
// which first packs the weights, would read them more than once: dot_rows reads each weight once.
constexpr std::size_t kFewRows = 8;

// bf16 is the upper half of an f32: widening is a shift, exact.
inline float widen_bf16(std::uint16_t bits) { return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16); }
inline float weight_at(const float* w, std::size_t i) { return w[i]; }
inline float weight_at(const std::uint16_t* w, std::size_t i) { return widen_bf16(w[i]); }

// y[r * ys + o] (+)= sum_i w[o][i] x[r][i], in index order: the reference loop.
template <class W>
void dot_rows_plain(const float* x, std::size_t rows, const W* w, std::size_t in, std::size_t o_begin, std::size_t o_end,
                    float* y, std::size_t ys, bool accumulate) {
  for (std::size_t o = o_begin; o < o_end; ++o)
    for (std::size_t r = 0; r < rows; ++r) {
      float sum = 0.0f;
      for (std::size_t i = 0; i < in; ++i) sum += weight_at(w, o * in + i) * x[r * in + i];
      float& yo = y[r * ys + o];
      yo = accumulate ? yo + sum : sum;
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*(), which it then reports as maybe-uninitialized
// inside functions given the AVX-512 target by attribute; the values are fully written.
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#define QK_AVX2 __attribute__((target("avx2,fma")))
#define QK_AVX512 __attribute__((target("avx512f")))
#define QK_AVX512BF16 __attribute__((target("avx512f,avx512bf16")))

QK_AVX2 inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
QK_AVX2 inline __m256 load8(const std::uint16_t* p) {
  const __m128i bits = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(bits), 16));
}
QK_AVX2 inline float horizontal_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// The same with AVX2/FMA (bf16 widened 8 at a time), rows four at a time: each 8-weight chunk of a weight row
// is loaded once and multiplied into four rows' accumulators, independent chains, so the loop runs at load
// throughput rather than FMA latency. A group of two or three rows repeats its last row and drops the extra
// sums; a last single row gets four accumulators along its length.
template <class W>
QK_AVX2 void dot_rows_avx2(const float* x, std::size_t rows, const W* w, std::size_t in, std::size_t o_begin,
                           std::size_t o_end, float* y, std::size_t ys, bool accumulate) {
  std::size_t r0 = 0;
  for (; r0 + 1 < rows; r0 += 4) {
    const float* xs[4];
    for (std::size_t k = 0; k < 4; ++k) xs[k] = x + std::min(r0 + k, rows - 1) * in;
    for (std::size_t o = o_begin; o < o_end; ++o) {
      const W* wo = w + o * in;
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      std::size_t i = 0;
      for (; i + 8 <= in; i += 8) {
        const __m256 wv = load8(wo + i);
        a0 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xs[0] + i), a0);
        a1 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xs[1] + i), a1);
        a2 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xs[2] + i), a2);
        a3 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xs[3] + i), a3);
      }
      const float sums[4] = {horizontal_sum(a0), horizontal_sum(a1), horizontal_sum(a2), horizontal_sum(a3)};
      for (std::size_t k = 0; k < 4 && r0 + k < rows; ++k) {
        float sum = sums[k];
        for (std::size_t t = i; t < in; ++t) sum += weight_at(wo, t) * xs[k][t];
        float& yo = y[(r0 + k) * ys + o];
        yo = accumulate ? yo + sum : sum;
      }
    }
  }
  if (r0 >= rows) return;
  // A last single row (decode): four accumulators along the row instead.
  const float* xr = x + r0 * in;
  for (std::size_t o = o_begin; o < o_end; ++o) {
    const W* wo = w + o * in;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    std::size_t i = 0;
    for (; i + 32 <= in; i += 32) {
      a0 = _mm256_fmadd_ps(load8(wo + i), _mm256_loadu_ps(xr + i), a0);
      a1 = _mm256_fmadd_ps(load8(wo + i + 8), _mm256_loadu_ps(xr + i + 8), a1);
      a2 = _mm256_fmadd_ps(load8(wo + i + 16), _mm256_loadu_ps(xr + i + 16), a2);
      a3 = _mm256_fmadd_ps(load8(wo + i + 24), _mm256_loadu_ps(xr + i + 24), a3);
    }
    float sum = horizontal_sum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < in; ++i) sum += weight_at(wo, i) * xr[i];
    float& yo = y[r0 * ys + o];
    yo = accumulate ? yo + sum : sum;
  }
}

QK_AVX512 inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
QK_AVX512 inline __m512 load16(const std::uint16_t* p) {
  const __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16));
}

// dot_rows_avx2 16 lanes wide (a separate function: a template's instantiations cannot differ in their target
// attribute, and the intrinsics of each width need theirs).
template <class W>
QK_AVX512 void dot_rows_avx512(const float* x, std::size_t rows, const W* w, std::size_t in, std::size_t o_begin,
                               std::size_t o_end, float* y, std::size_t ys, bool accumulate) {
  std::size_t r0 = 0;
  for (; r0 + 1 < rows; r0 += 4) {
    const float* xs[4];
    for (std::size_t k = 0; k < 4; ++k) xs[k] = x + std::min(r0 + k, rows - 1) * in;
    for (std::size_t o = o_begin; o < o_end; ++o) {
      const W* wo = w + o * in;
      __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      std::size_t i = 0;
      for (; i + 16 <= in; i += 16) {
        const __m512 wv = load16(wo + i);
        a0 = _mm512_fmadd_ps(wv, _mm512_loadu_ps(xs[0] + i), a0);
        a1 = _mm512_fmadd_ps(wv, _mm512_loadu_ps(xs[1] + i), a1);
        a2 = _mm512_fmadd_ps(wv, _mm512_loadu_ps(xs[2] + i), a2);
        a3 = _mm512_fmadd_ps(wv, _mm512_loadu_ps(xs[3] + i), a3);
      }
      const float sums[4] = {_mm512_reduce_add_ps(a0), _mm512_reduce_add_ps(a1), _mm512_reduce_add_ps(a2),
                             _mm512_reduce_add_ps(a3)};
      for (std::size_t k = 0; k < 4 && r0 + k < rows; ++k) {
        float sum = sums[k];
        for (std::size_t t = i; t < in; ++t) sum += weight_at(wo, t) * xs[k][t];
        float& yo = y[(r0 + k) * ys + o];
        yo = accumulate ? yo + sum : sum;
      }
    }
  }
  if (r0 >= rows) return;
  const float* xr = x + r0 * in;
  for (std::size_t o = o_begin; o < o_end; ++o) {
    const W* wo = w + o * in;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    std::size_t i = 0;
    for (; i + 64 <= in; i += 64) {
      a0 = _mm512_fmadd_ps(load16(wo + i), _mm512_loadu_ps(xr + i), a0);
      a1 = _mm512_fmadd_ps(load16(wo + i + 16), _mm512_loadu_ps(xr + i + 16), a1);
      a2 = _mm512_fmadd_ps(load16(wo + i + 32), _mm512_loadu_ps(xr + i + 32), a2);
      a3 = _mm512_fmadd_ps(load16(wo + i + 48), _mm512_loadu_ps(xr + i + 48), a3);
    }
    for (; i + 16 <= in; i += 16) a0 = _mm512_fmadd_ps(load16(wo + i), _mm512_loadu_ps(xr + i), a0);
    float sum = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    for (; i < in; ++i) sum += weight_at(wo, i) * xr[i];
    float& yo = y[r0 * ys + o];
    yo = accumulate ? yo + sum : sum;
  }
}

// 32 bf16 values as vdpbf16ps's operand: 16 pairs.
QK_AVX512BF16 inline __m512bh pairs(const std::uint16_t* p) {
  const __m512i bits = _mm512_loadu_si512(p);
  return reinterpret_cast<const __m512bh&>(bits);
}

// AVX-512 BF16: vdpbf16ps multiplies 16 pairs of bf16 and adds both products of a pair to an f32 lane. The
// activations are split once per call into x = hi + lo, hi = bf16(x), lo = bf16(x - hi) (both round to
// nearest even), and w . x = w . hi + w . lo, each into its own accumulators. Rows four at a time as above.
QK_AVX512BF16 void dot_rows_dpbf16(const float* x, std::size_t rows, const std::uint16_t* w, std::size_t in,
                                   std::size_t o_begin, std::size_t o_end, float* y, std::size_t ys, bool accumulate) {
  const std::size_t whole = in / 32 * 32;
  thread_local std::vector<std::uint16_t> split;  // [rows][hi (whole) | lo (whole)]
  split.resize(rows * 2 * whole);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t i = 0; i < whole; i += 16) {
      const __m512 v = _mm512_loadu_ps(x + r * in + i);
      const __m256bh hi = _mm512_cvtneps_pbh(v);
      const __m512 hi_f32 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(reinterpret_cast<const __m256i&>(hi)), 16));
      const __m256bh lo = _mm512_cvtneps_pbh(_mm512_sub_ps(v, hi_f32));
      std::memcpy(split.data() + r * 2 * whole + i, &hi, sizeof hi);
      std::memcpy(split.data() + r * 2 * whole + whole + i, &lo, sizeof lo);
    }
  auto tail = [&](const std::uint16_t* wo, const float* xr, float sum) {
    for (std::size_t t = whole; t < in; ++t) sum += widen_bf16(wo[t]) * xr[t];
    return sum;
  };
  std::size_t r0 = 0;
  for (; r0 + 1 < rows; r0 += 4) {
    const std::uint16_t* hs[4];
    const float* xs[4];
    for (std::size_t k = 0; k < 4; ++k) {
      const std::size_t r = std::min(r0 + k, rows - 1);
      hs[k] = split.data() + r * 2 * whole;
      xs[k] = x + r * in;
    }
    for (std::size_t o = o_begin; o < o_end; ++o) {
      const std::uint16_t* wo = w + o * in;
      __m512 h0 = _mm512_setzero_ps(), h1 = h0, h2 = h0, h3 = h0, l0 = h0, l1 = h0, l2 = h0, l3 = h0;
      for (std::size_t i = 0; i < whole; i += 32) {
        const __m512bh wv = pairs(wo + i);
        h0 = _mm512_dpbf16_ps(h0, wv, pairs(hs[0] + i));
        l0 = _mm512_dpbf16_ps(l0, wv, pairs(hs[0] + whole + i));
        h1 = _mm512_dpbf16_ps(h1, wv, pairs(hs[1] + i));
        l1 = _mm512_dpbf16_ps(l1, wv, pairs(hs[1] + whole + i));
        h2 = _mm512_dpbf16_ps(h2, wv, pairs(hs[2] + i));
        l2 = _mm512_dpbf16_ps(l2, wv, pairs(hs[2] + whole + i));
        h3 = _mm512_dpbf16_ps(h3, wv, pairs(hs[3] + i));
        l3 = _mm512_dpbf16_ps(l3, wv, pairs(hs[3] + whole + i));
      }
      const float sums[4] = {_mm512_reduce_add_ps(_mm512_add_ps(h0, l0)), _mm512_reduce_add_ps(_mm512_add_ps(h1, l1)),
                             _mm512_reduce_add_ps(_mm512_add_ps(h2, l2)), _mm512_reduce_add_ps(_mm512_add_ps(h3, l3))};
      for (std::size_t k = 0; k < 4 && r0 + k < rows; ++k) {
        float& yo = y[(r0 + k) * ys + o];
        const float sum = tail(wo, xs[k], sums[k]);
        yo = accumulate ? yo + sum : sum;
      }
    }
  }
  if (r0 >= rows) return;
  // A last single row (decode): two pairs of accumulators along the row.
  const std::uint16_t* hr = split.data() + r0 * 2 * whole;
  for (std::size_t o = o_begin; o < o_end; ++o) {
    const std::uint16_t* wo = w + o * in;
    __m512 h0 = _mm512_setzero_ps(), h1 = h0, l0 = h0, l1 = h0;
    std::size_t i = 0;
    for (; i + 64 <= whole; i += 64) {
      const __m512bh w0 = pairs(wo + i), w1 = pairs(wo + i + 32);
      h0 = _mm512_dpbf16_ps(h0, w0, pairs(hr + i));
      l0 = _mm512_dpbf16_ps(l0, w0, pairs(hr + whole + i));
      h1 = _mm512_dpbf16_ps(h1, w1, pairs(hr + i + 32));
      l1 = _mm512_dpbf16_ps(l1, w1, pairs(hr + whole + i + 32));
    }
    for (; i < whole; i += 32) {
      const __m512bh w0 = pairs(wo + i);
      h0 = _mm512_dpbf16_ps(h0, w0, pairs(hr + i));
      l0 = _mm512_dpbf16_ps(l0, w0, pairs(hr + whole + i));
    }
    const float sum = tail(wo, x + r0 * in, _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(h0, l0), _mm512_add_ps(h1, l1))));
    float& yo = y[r0 * ys + o];
    yo = accumulate ? yo + sum : sum;
  }
}

// Prefill: y[rows, o_begin..o_end) (+)= x[rows, in] w[o_begin..o_end)^T with AVX-512, blocked as GotoBLAS:
// the weights of 32 outputs x kKC inputs are packed k-major into a panel (bf16 widened to f32 on the way,
// exactly), and a register tile of kMR rows x 32 outputs (24 zmm accumulators) runs down the panel:
//   c[r][j] += x[r][k] * panel[k][j],   one broadcast of x[r][k] and two FMAs per row and k.
// The tile's rows of x (kMR x kKC floats) stay in L1 while the block's panels stream from L2.
constexpr std::size_t kNR = 32, kMR = 12, kKC = 256, kOutBlock = 256;

// Panel p holds outputs o_begin + 32p .. + 31 at inputs k0 .. k0 + kc: panel[k][j] = w[o_begin + 32p + j][k0 + k],
// zero past o_end. Inputs from k_from on, one weight at a time (the reference; pack_panels_avx512 does the rest).
template <class W>
void pack_panels_from(std::size_t k_from, const W* w, std::size_t in, std::size_t o_begin, std::size_t o_end,
                      std::size_t k0, std::size_t kc, float* packed) {
  for (std::size_t p = 0; p * kNR < o_end - o_begin; ++p) {
    float* panel = packed + p * kc * kNR;
    for (std::size_t j = 0; j < kNR; ++j) {
      const std::size_t o = o_begin + p * kNR + j;
      if (o >= o_end) {
        for (std::size_t k = k_from; k < kc; ++k) panel[k * kNR + j] = 0.0f;
        continue;
      }
      const W* src = w + o * in + k0;
      for (std::size_t k = k_from; k < kc; ++k) panel[k * kNR + j] = weight_at(src, k);
    }
  }
}

// r[t] = row t of a 16 x 16 block of floats, transposed in place: r[t][u] <- r[u][t]. Three rounds of
// exchanges between register pairs: 32-bit elements within 64-bit pairs (unpack), 64-bit pairs within
// 128-bit lanes (unpack_pd), then 128-bit lanes twice (shuffle_f32x4), the usual 16 x 16 AVX-512 transpose.
[[gnu::always_inline]] QK_AVX512 inline void transpose_16x16(__m512 r[16]) {
  __m512 t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
#pragma GCC unroll 4
  for (int i = 0; i < 16; i += 4) {
    const __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]);
    const __m512d c = _mm512_castps_pd(t[i + 2]), d = _mm512_castps_pd(t[i + 3]);
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xDD);
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xDD);
  }
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
  }
}

// pack_panels_from(0, ...) with full panels moved 16 outputs x 16 inputs at a time: 16 row loads (bf16 widened),
// one register transpose, 16 stores, where the scalar loop stores each weight alone 128 bytes from the last.
template <class W>
QK_AVX512 void pack_panels_avx512(const W* w, std::size_t in, std::size_t o_begin, std::size_t o_end, std::size_t k0,
                                  std::size_t kc, float* packed) {
  const std::size_t full_panels = (o_end - o_begin) / kNR, k_vector = kc / 16 * 16;
  for (std::size_t p = 0; p < full_panels; ++p) {
    float* panel = packed + p * kc * kNR;
    for (std::size_t half = 0; half < kNR; half += 16) {
      const W* src = w + (o_begin + p * kNR + half) * in + k0;
      for (std::size_t k = 0; k < k_vector; k += 16) {
        __m512 r[16];
#pragma GCC unroll 16
        for (std::size_t j = 0; j < 16; ++j) r[j] = load16(src + j * in + k);
        transpose_16x16(r);
#pragma GCC unroll 16
        for (std::size_t t = 0; t < 16; ++t) _mm512_storeu_ps(panel + (k + t) * kNR + half, r[t]);
      }
    }
  }
  // the inputs past the last 16 of full panels, and a last partial panel, one weight at a time
  if (k_vector < kc) pack_panels_from(k_vector, w, in, o_begin, o_begin + full_panels * kNR, k0, kc, packed);
  if (full_panels * kNR < o_end - o_begin)
    pack_panels_from(0, w, in, o_begin + full_panels * kNR, o_end, k0, kc, packed + full_panels * kc * kNR);
}

template <int M>
QK_AVX512 void gemm_tile(const float* x, std::size_t ldx, const float* panel, std::size_t kc, float* y, std::size_t ldy,
                         __mmask16 m0, __mmask16 m1, bool add) {
  __m512 c0[M], c1[M];
#pragma GCC unroll 12
  for (int r = 0; r < M; ++r) c0[r] = c1[r] = _mm512_setzero_ps();
  for (std::size_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_loadu_ps(panel + k * kNR), b1 = _mm512_loadu_ps(panel + k * kNR + 16);
#pragma GCC unroll 12
    for (int r = 0; r < M; ++r) {
      const __m512 a = _mm512_set1_ps(x[r * ldx + k]);
      c0[r] = _mm512_fmadd_ps(a, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(a, b1, c1[r]);
    }
  }
#pragma GCC unroll 12
  for (int r = 0; r < M; ++r) {
    float* yr = y + r * ldy;
    if (add) {
      c0[r] = _mm512_add_ps(c0[r], _mm512_maskz_loadu_ps(m0, yr));
      c1[r] = _mm512_add_ps(c1[r], _mm512_maskz_loadu_ps(m1, yr + 16));
    }
    _mm512_mask_storeu_ps(yr, m0, c0[r]);
    _mm512_mask_storeu_ps(yr + 16, m1, c1[r]);
  }
}

template <int... M>
QK_AVX512 void gemm_tile_rows(std::size_t rows, std::integer_sequence<int, M...>, const float* x, std::size_t ldx,
                              const float* panel, std::size_t kc, float* y, std::size_t ldy, __mmask16 m0, __mmask16 m1,
                              bool add) {
  ((rows == static_cast<std::size_t>(M + 1) ? gemm_tile<M + 1>(x, ldx, panel, kc, y, ldy, m0, m1, add) : void()), ...);
}

// pack_panels_from(0, ...) for a right operand given as b[k][n] (row stride ldb) rather than as rows of
// outputs: a panel's row is 32 consecutive values of a row of b, zero past o_end.
void pack_panels_inputs_by_outputs(const float* b, std::size_t ldb, std::size_t o_begin, std::size_t o_end, std::size_t k0,
                                   std::size_t kc, float* packed) {
  for (std::size_t p = 0; p * kNR < o_end - o_begin; ++p) {
    const std::size_t o0 = o_begin + p * kNR, valid = std::min(kNR, o_end - o0);
    float* panel = packed + p * kc * kNR;
    for (std::size_t k = 0; k < kc; ++k) {
      const float* src = b + (k0 + k) * ldb + o0;
      std::copy_n(src, valid, panel + k * kNR);
      std::fill(panel + k * kNR + valid, panel + (k + 1) * kNR, 0.0f);
    }
  }
}

// The right operand of a prefill product, packed a block at a time: pack(o_begin, o_end, k0, kc, panels) fills
// the panels of outputs [o_begin, o_end) at inputs k0 .. k0 + kc.
template <class W>
struct OutputRows {  // b[n][k] with row stride ld: weights (bf16 or f32), keys
  const W* b;
  std::size_t ld;
  QK_AVX512 void pack(std::size_t o_begin, std::size_t o_end, std::size_t k0, std::size_t kc, float* packed) const {
    pack_panels_avx512(b, ld, o_begin, o_end, k0, kc, packed);
  }
};
struct InputRows {  // b[k][n] with row stride ld: values (activations, already in cache)
  const float* b;
  std::size_t ld;
  void pack(std::size_t o_begin, std::size_t o_end, std::size_t k0, std::size_t kc, float* packed) const {
    pack_panels_inputs_by_outputs(b, ld, o_begin, o_end, k0, kc, packed);
  }
};

// x has row stride ldx; b is an OutputRows or InputRows.
template <class Operand>
QK_AVX512 void gemm_block_avx512(const float* x, std::size_t ldx, std::size_t rows, std::size_t in, const Operand& b,
                                 std::size_t o_begin, std::size_t o_end, float* y, std::size_t ldy, bool accumulate) {
  thread_local std::vector<float> packed;
  // kOutBlock outputs at a time: their packed panels (kOutBlock x kKC floats, 256 KiB) stay in L2 while every
  // row tile passes over them
  for (std::size_t b0 = o_begin; b0 < o_end; b0 += kOutBlock) {
    const std::size_t b1 = std::min(o_end, b0 + kOutBlock), n = b1 - b0, panels = (n + kNR - 1) / kNR;
    for (std::size_t k0 = 0; k0 < in; k0 += kKC) {
      const std::size_t kc = std::min(kKC, in - k0);
      if (packed.size() < panels * kc * kNR) packed.resize(panels * kc * kNR);
      b.pack(b0, b1, k0, kc, packed.data());
      const bool add = accumulate || k0 > 0;
      for (std::size_t r0 = 0; r0 < rows; r0 += kMR) {
        const std::size_t mr = std::min(kMR, rows - r0);
        for (std::size_t p = 0; p < panels; ++p) {
          const std::size_t valid = std::min(kNR, n - p * kNR);
          const auto m0 = static_cast<__mmask16>(valid >= 16 ? 0xFFFF : (1u << valid) - 1);
          const auto m1 = static_cast<__mmask16>(valid >= 32 ? 0xFFFF : valid > 16 ? (1u << (valid - 16)) - 1 : 0);
          gemm_tile_rows(mr, std::make_integer_sequence<int, kMR>{}, x + r0 * ldx + k0, ldx, packed.data() + p * kc * kNR,
                         kc, y + r0 * ldy + b0 + p * kNR, ldy, m0, m1, add);
        }
      }
    }
  }
}
#endif

struct Cpu {
  bool avx2 = false, avx512 = false, avx512bf16 = false;
  bool openblas_gemm = false;  // QK_GEMM=openblas: prefill through OpenBLAS even with AVX-512 (measurements)
  Cpu() {
    const char* gemm = std::getenv("QK_GEMM");
    openblas_gemm = gemm && std::string_view(gemm) == "openblas";
#if defined(__x86_64__) && defined(__GNUC__)
    avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    avx512 = __builtin_cpu_supports("avx512f");  // also means the OS saves the zmm registers
    unsigned a = 0, b = 0, c = 0, d = 0;
    avx512bf16 = avx512 && __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 5));  // CPUID.(7,1):EAX.AVX512_BF16
#endif
  }
};
const Cpu& cpu() {
  static const Cpu instance;
  return instance;
}

void dot_rows(const float* x, std::size_t rows, const Matrix& w, std::size_t o_begin, std::size_t o_end, float* y,
              std::size_t ys, bool accumulate) {
  const std::size_t in = w.cols();
  if (w.type() == Matrix::Type::BF16) return dot_rows_bf16(bf16_kernel(), x, rows, w.bf16(), in, o_begin, o_end, y, ys, accumulate);
#if defined(__x86_64__) && defined(__GNUC__)
  if (cpu().avx512) return dot_rows_avx512(x, rows, w.f32(), in, o_begin, o_end, y, ys, accumulate);
  if (cpu().avx2) return dot_rows_avx2(x, rows, w.f32(), in, o_begin, o_end, y, ys, accumulate);
#endif
  dot_rows_plain(x, rows, w.f32(), in, o_begin, o_end, y, ys, accumulate);
}

void gemm_block(const float* x, std::size_t rows, const Matrix& w, std::size_t o_begin, std::size_t o_end, float* y,
                std::size_t ldy, bool accumulate) {
  const std::size_t in = w.cols();
#if defined(__x86_64__) && defined(__GNUC__)
  if (cpu().avx512 && !cpu().openblas_gemm) {
    if (w.type() == Matrix::Type::BF16)
      return gemm_block_avx512(x, in, rows, in, OutputRows<std::uint16_t>{w.bf16(), in}, o_begin, o_end, y, ldy, accumulate);
    return gemm_block_avx512(x, in, rows, in, OutputRows<float>{w.f32(), in}, o_begin, o_end, y, ldy, accumulate);
  }
#endif
  // OpenBLAS sgemm on the block's weights, bf16 widened first
  const float* block = nullptr;
  thread_local std::vector<float> widened;
  if (w.type() == Matrix::Type::BF16) {
    widened.resize((o_end - o_begin) * in);
    for (std::size_t o = o_begin; o < o_end; ++o) w.row_to_f32(o, widened.data() + (o - o_begin) * in);
    block = widened.data();
  } else {
    block = w.f32() + o_begin * in;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(o_end - o_begin),
              static_cast<int>(in), 1.0f, x, static_cast<int>(in), block, static_cast<int>(in), accumulate ? 1.0f : 0.0f,
              y + o_begin, static_cast<int>(ldy));
}

}  // namespace

bool bf16_kernel_available(Bf16Kernel kernel) {
  switch (kernel) {
    case Bf16Kernel::Dpbf16: return cpu().avx512bf16;
    case Bf16Kernel::Avx512: return cpu().avx512;
    case Bf16Kernel::Avx2: return cpu().avx2;
    case Bf16Kernel::Plain: return true;
  }
  return false;
}

const char* bf16_kernel_name(Bf16Kernel kernel) {
  switch (kernel) {
    case Bf16Kernel::Dpbf16: return "dpbf16";
    case Bf16Kernel::Avx512: return "avx512";
    case Bf16Kernel::Avx2: return "avx2";
    case Bf16Kernel::Plain: return "plain";
  }
  return "?";
}

Bf16Kernel bf16_kernel() {
  static const Bf16Kernel chosen = [] {
    if (const char* env = std::getenv("QK_BF16_KERNEL"))
      for (Bf16Kernel k : kAllBf16Kernels)
        if (std::string_view(env) == bf16_kernel_name(k) && bf16_kernel_available(k)) return k;
    for (Bf16Kernel k : {Bf16Kernel::Avx512, Bf16Kernel::Avx2})
      if (bf16_kernel_available(k)) return k;
    return Bf16Kernel::Plain;
  }();
  return chosen;
}

void dot_rows_bf16(Bf16Kernel kernel, const float* x, std::size_t rows, const std::uint16_t* w, std::size_t in,
                   std::size_t o_begin, std::size_t o_end, float* y, std::size_t ys, bool accumulate) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (kernel == Bf16Kernel::Dpbf16 && cpu().avx512bf16) return dot_rows_dpbf16(x, rows, w, in, o_begin, o_end, y, ys, accumulate);
  if (kernel == Bf16Kernel::Avx512 && cpu().avx512) return dot_rows_avx512(x, rows, w, in, o_begin, o_end, y, ys, accumulate);
  if (kernel == Bf16Kernel::Avx2 && cpu().avx2) return dot_rows_avx2(x, rows, w, in, o_begin, o_end, y, ys, accumulate);
#endif
  dot_rows_plain(x, rows, w, in, o_begin, o_end, y, ys, accumulate);
}

void gemm_f32(const float* a, std::size_t lda, std::size_t m, std::size_t k, const float* b, std::size_t ldb, BLayout layout,
              std::size_t n, float* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
#if defined(__x86_64__) && defined(__GNUC__)
  if (cpu().avx512 && !cpu().openblas_gemm) {
    if (layout == BLayout::OutputsByInputs) return gemm_block_avx512(a, lda, m, k, OutputRows<float>{b, ldb}, 0, n, c, ldc, false);
    return gemm_block_avx512(a, lda, m, k, InputRows{b, ldb}, 0, n, c, ldc, false);
  }
#endif
  cblas_sgemm(CblasRowMajor, CblasNoTrans, layout == BLayout::OutputsByInputs ? CblasTrans : CblasNoTrans, static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), 1.0f, a, static_cast<int>(lda), b, static_cast<int>(ldb), 0.0f, c,
              static_cast<int>(ldc));
}

void matmul_batch(std::span<const Product> products, std::size_t rows, bool accumulate) {
  std::size_t out = 0;
  for (const Product& p : products) out += p.w->rows();
  if (rows == 0 || out == 0) return;
  OpTimer timer(Op::Projection);
  // The products' outputs laid end to end; fn(product, first output, end output) for the pieces in [begin, end).
  auto each_product = [&](std::size_t begin, std::size_t end, auto&& fn) {
    std::size_t offset = 0;
    for (const Product& p : products) {
      const std::size_t lo = std::max(begin, offset), hi = std::min(end, offset + p.w->rows());
      if (lo < hi) fn(p, lo - offset, hi - offset);
      offset += p.w->rows();
    }
  };
  if (rows <= kFewRows) {
    // Decode: output features split over the pool's threads, each streaming its share of the weight rows once.
    parallel_ranges(out, 64, [&](std::size_t begin, std::size_t end) {
      each_product(begin, end, [&](const Product& p, std::size_t lo, std::size_t hi) {
        dot_rows(p.x, rows, *p.w, lo, hi, p.y, p.y_stride, accumulate);
      });
    });
    return;
  }
  // Prefill: blocks of output features spread over the pool's threads (a few per thread, so a thread slowed by
  // other processes takes fewer); each block packs its own slice of the weights.
  parallel_ranges(out, 128, [&](std::size_t begin, std::size_t end) {
    each_product(begin, end, [&](const Product& p, std::size_t lo, std::size_t hi) {
      gemm_block(p.x, rows, *p.w, lo, hi, p.y, p.y_stride, accumulate);
    });
  });
}

void matmul_wt(const float* x, std::span<const Matrix> parts, float* y, std::size_t rows, bool accumulate) {
  std::size_t out = 0;
  for (const Matrix& p : parts) out += p.rows();
  std::vector<Product> products;
  std::size_t offset = 0;
  for (const Matrix& p : parts) {
    products.push_back({x, &p, y + offset, out});
    offset += p.rows();
  }
  matmul_batch(products, rows, accumulate);
}

}  // namespace qk::engine
