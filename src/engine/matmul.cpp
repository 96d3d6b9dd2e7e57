#include "engine/matmul.hpp"

#include <cblas.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "engine/bf16_lanes.hpp"
#include "engine/gemm_avx512.hpp"
#include "engine/op_timer.hpp"
#include "engine/simd.hpp"
#include "util/thread_pool.hpp"

namespace qk::engine {
namespace {

// Up to this many rows a product is bandwidth-bound (each weight is used a few times only), and a GEMM,
// which first packs the weights, would read them more than once: dot_rows reads each weight once.
constexpr std::size_t kFewRows = 8;

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

#endif

struct Cpu {
  bool avx2 = false, avx512 = false, avx512bf16 = false;
  bool openblas_gemm = false;  // QK_GEMM=openblas: prefill through OpenBLAS even with AVX-512 (measurements)
  Cpu() {
    const char* gemm = std::getenv("QK_GEMM");
    openblas_gemm = gemm && std::string_view(gemm) == "openblas";
#if defined(__x86_64__) && defined(__GNUC__)
    avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    avx512 = cpu_has_avx512();
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
    if (w.type() == Matrix::Type::BF16) return gemm_avx512(x, in, rows, in, w.bf16(), in, o_begin, o_end, y, ldy, accumulate);
    return gemm_avx512(x, in, rows, in, w.f32(), in, o_begin, o_end, y, ldy, accumulate);
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
              std::size_t n, float* c, std::size_t ldc, bool accumulate) {
  if (m == 0 || n == 0) return;
#if defined(__x86_64__) && defined(__GNUC__)
  if (cpu().avx512 && !cpu().openblas_gemm) {
    if (layout == BLayout::OutputsByInputs) return gemm_avx512(a, lda, m, k, b, ldb, 0, n, c, ldc, accumulate);
    return gemm_inputs_by_outputs_avx512(a, lda, m, k, b, ldb, 0, n, c, ldc, accumulate);
  }
#endif
  cblas_sgemm(CblasRowMajor, CblasNoTrans, layout == BLayout::OutputsByInputs ? CblasTrans : CblasNoTrans, static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), 1.0f, a, static_cast<int>(lda), b, static_cast<int>(ldb),
              accumulate ? 1.0f : 0.0f, c, static_cast<int>(ldc));
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
    // Decode: output features split over the pool's threads, each streaming its share of the weight rows once,
    // in order, and taking the others' last rows when done with its own, so that neither waits long for the other.
    parallel_ranges_stealing(out, 64, [&](std::size_t begin, std::size_t end) {
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
