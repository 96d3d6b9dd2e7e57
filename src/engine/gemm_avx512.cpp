#include "engine/gemm_avx512.hpp"

#include "engine/bf16_lanes.hpp"
#include "engine/simd.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace qk::engine {
#if defined(__x86_64__) && defined(__GNUC__)
namespace {

// Blocked as GotoBLAS, for y[rows, o_begin..o_end) (+)= x[rows, in] w[o_begin..o_end)^T:
// the weights of 32 outputs x kKC inputs are packed k-major into a panel (bf16 widened to f32 on the way,
// exactly), and a register tile of kMR rows x 32 outputs (24 zmm accumulators) runs down the panel:
//   c[r][j] += x[r][k] * panel[k][j],   one broadcast of x[r][k] and two FMAs per row and k.
// The tile's rows of x (kMR x kKC floats) stay in L1 while the block's panels stream from L2.
constexpr std::size_t kNR = 32, kMR = 12, kKC = 256, kOutBlock = 256;

// Panel p holds outputs o_begin + 32p .. + 31 at inputs k0 .. k0 + kc: panel[k][j] = w[o_begin + 32p + j][k0 + k]
// (w's rows ld apart), zero past o_end. Inputs from k_from on, one weight at a time (the reference;
// pack_panels_avx512 does the rest).
template <class W>
void pack_panels_from(std::size_t k_from, const W* w, std::size_t ld, std::size_t o_begin, std::size_t o_end,
                      std::size_t k0, std::size_t kc, float* packed) {
  for (std::size_t p = 0; p * kNR < o_end - o_begin; ++p) {
    float* panel = packed + p * kc * kNR;
    for (std::size_t j = 0; j < kNR; ++j) {
      const std::size_t o = o_begin + p * kNR + j;
      if (o >= o_end) {
        for (std::size_t k = k_from; k < kc; ++k) panel[k * kNR + j] = 0.0f;
        continue;
      }
      const W* src = w + o * ld + k0;
      for (std::size_t k = k_from; k < kc; ++k) panel[k * kNR + j] = weight_at(src, k);
    }
  }
}

// r[t] = row t of a 16 x 16 block of floats, transposed in place: r[t][u] <- r[u][t]. Four rounds of
// exchanges between registers: 32-bit elements (unpack), 64-bit pairs (unpack_pd), then 128-bit lanes twice
// (shuffle_f32x4), the usual 16 x 16 AVX-512 transpose.
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
QK_AVX512 void pack_panels_avx512(const W* w, std::size_t ld, std::size_t o_begin, std::size_t o_end, std::size_t k0,
                                  std::size_t kc, float* packed) {
  const std::size_t full_panels = (o_end - o_begin) / kNR, k_vector = kc / 16 * 16;
  for (std::size_t p = 0; p < full_panels; ++p) {
    float* panel = packed + p * kc * kNR;
    for (std::size_t half = 0; half < kNR; half += 16) {
      const W* src = w + (o_begin + p * kNR + half) * ld + k0;
      for (std::size_t k = 0; k < k_vector; k += 16) {
        __m512 r[16];
#pragma GCC unroll 16
        for (std::size_t j = 0; j < 16; ++j) r[j] = load16(src + j * ld + k);
        transpose_16x16(r);
#pragma GCC unroll 16
        for (std::size_t t = 0; t < 16; ++t) _mm512_storeu_ps(panel + (k + t) * kNR + half, r[t]);
      }
    }
  }
  // the inputs past the last 16 of full panels, and a last partial panel, one weight at a time
  if (k_vector < kc) pack_panels_from(k_vector, w, ld, o_begin, o_begin + full_panels * kNR, k0, kc, packed);
  if (full_panels * kNR < o_end - o_begin)
    pack_panels_from(0, w, ld, o_begin + full_panels * kNR, o_end, k0, kc, packed + full_panels * kc * kNR);
}

template <int M>
QK_AVX512 void gemm_tile(const float* x, std::size_t ldx, const float* panel, std::size_t ldp, std::size_t kc, float* y,
                         std::size_t ldy, __mmask16 m0, __mmask16 m1, bool add) {
  __m512 c0[M], c1[M];
#pragma GCC unroll 12
  for (int r = 0; r < M; ++r) c0[r] = c1[r] = _mm512_setzero_ps();
  for (std::size_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_loadu_ps(panel + k * ldp), b1 = _mm512_loadu_ps(panel + k * ldp + 16);
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
                              const float* panel, std::size_t ldp, std::size_t kc, float* y, std::size_t ldy, __mmask16 m0,
                              __mmask16 m1, bool add) {
  ((rows == static_cast<std::size_t>(M + 1) ? gemm_tile<M + 1>(x, ldx, panel, ldp, kc, y, ldy, m0, m1, add) : void()), ...);
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

// The 32-output panels of a block of the right operand at inputs k0 .. k0 + kc: panel p starts at
// first + p * step, and its row for input k at + k * stride.
struct Panels {
  const float* first;
  std::size_t step, stride;
};

// The right operand of a prefill product, a block at a time: panels(o_begin, o_end, k0, kc, packed) gives the
// panels of outputs [o_begin, o_end) at inputs k0 .. k0 + kc, packed into `packed` where they need to be.
template <class W>
struct OutputRows {  // b[n][k] with row stride ld: weights (bf16 or f32), keys
  const W* b;
  std::size_t ld;
  QK_AVX512 Panels panels(std::size_t o_begin, std::size_t o_end, std::size_t k0, std::size_t kc, float* packed) const {
    pack_panels_avx512(b, ld, o_begin, o_end, k0, kc, packed);
    return {packed, kc * kNR, kNR};
  }
};
struct InputRows {  // b[k][n] with row stride ld: attention's values
  const float* b;
  std::size_t ld;
  // A row of b already holds an input's outputs side by side, so whole panels are read where they are (packing
  // the values' chunks took 3.7% of an 8K prompt); only a block that ends in a part of a panel is packed.
  Panels panels(std::size_t o_begin, std::size_t o_end, std::size_t k0, std::size_t kc, float* packed) const {
    if ((o_end - o_begin) % kNR == 0) return {b + k0 * ld + o_begin, kNR, ld};
    pack_panels_inputs_by_outputs(b, ld, o_begin, o_end, k0, kc, packed);
    return {packed, kc * kNR, kNR};
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
      const Panels block = b.panels(b0, b1, k0, kc, packed.data());
      const bool add = accumulate || k0 > 0;
      for (std::size_t r0 = 0; r0 < rows; r0 += kMR) {
        const std::size_t mr = std::min(kMR, rows - r0);
        for (std::size_t p = 0; p < panels; ++p) {
          const std::size_t valid = std::min(kNR, n - p * kNR);
          const auto m0 = static_cast<__mmask16>(valid >= 16 ? 0xFFFF : (1u << valid) - 1);
          const auto m1 = static_cast<__mmask16>(valid >= 32 ? 0xFFFF : valid > 16 ? (1u << (valid - 16)) - 1 : 0);
          gemm_tile_rows(mr, std::make_integer_sequence<int, kMR>{}, x + r0 * ldx + k0, ldx, block.first + p * block.step,
                         block.stride, kc, y + r0 * ldy + b0 + p * kNR, ldy, m0, m1, add);
        }
      }
    }
  }
}
}  // namespace

void gemm_avx512(const float* x, std::size_t ldx, std::size_t rows, std::size_t in, const float* b, std::size_t ldb,
                 std::size_t o_begin, std::size_t o_end, float* y, std::size_t ldy, bool accumulate) {
  gemm_block_avx512(x, ldx, rows, in, OutputRows<float>{b, ldb}, o_begin, o_end, y, ldy, accumulate);
}
void gemm_avx512(const float* x, std::size_t ldx, std::size_t rows, std::size_t in, const std::uint16_t* b,
                 std::size_t ldb, std::size_t o_begin, std::size_t o_end, float* y, std::size_t ldy, bool accumulate) {
  gemm_block_avx512(x, ldx, rows, in, OutputRows<std::uint16_t>{b, ldb}, o_begin, o_end, y, ldy, accumulate);
}
void gemm_inputs_by_outputs_avx512(const float* x, std::size_t ldx, std::size_t rows, std::size_t in, const float* b,
                                   std::size_t ldb, std::size_t o_begin, std::size_t o_end, float* y, std::size_t ldy,
                                   bool accumulate) {
  gemm_block_avx512(x, ldx, rows, in, InputRows{b, ldb}, o_begin, o_end, y, ldy, accumulate);
}
#endif
}  // namespace qk::engine
