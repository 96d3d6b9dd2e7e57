// The engine's weight products, y = x W^T (PyTorch nn.Linear without bias), for f32 and bf16 weights.
// Activations x and outputs y are f32; bf16 weights are read as stored and every product is accumulated in
// f32. Two regimes:
//   - up to 8 rows (decode, batched decode): bound by memory bandwidth; each weight is streamed once
//     (dot_rows_*), output features split over the pool's threads;
//   - more rows (prefill): compute-bound; blocks of output features over the pool's threads, each block's
//     weights packed (bf16 widened exactly to f32) and multiplied by an AVX-512 register-tiled kernel, or by
//     OpenBLAS sgemm on CPUs without AVX-512 (or with QK_GEMM=openblas, for measurements). f32 and bf16 weights of equal value give bit-identical results
//     here, since packing makes them the same f32 values.
// The few-rows kernels for bf16 weights, chosen by runtime CPU detection (QK_BF16_KERNEL overrides):
//   Avx512: widen 16 bf16 to f32 (a 16-bit shift: exact) and FMA with the f32 activations; the default
//           where AVX-512 exists. The products are exact, as with f32 weights of the same values.
//   Avx2:   the same 8 lanes wide; the default on AVX2-only CPUs.
//   Dpbf16: AVX-512 BF16 vdpbf16ps. Each activation is split into two bf16, x = hi + lo with
//           hi = bf16(x), lo = bf16(x - hi), so the products keep x to 16 bits (relative error <= 2^-17,
//           against f32's 2^-24; vdpbf16ps also flushes bf16 denormals), two instructions per 32 weights.
//           Not the default: on the development machine (AMD Zen 5) it decoded the 397M MoE 0.67x as fast
//           per CPU-second as Avx2's widening, with 10x the logit error on the shipped models (docs/engine.md).
//   Plain:  the reference loop, f32 products of the widened weight, summed in order.
#pragma once
#include <cstddef>
#include <span>

#include "engine/weight_matrix.hpp"

namespace qk::engine {

// y[rows, out] = x[rows, in] * W^T, W = the parts stacked along the outputs (out = the sum of the parts'
// rows; every part has `in` = cols columns): a fused projection whose pieces are separate checkpoint tensors.
// accumulate: y += instead of y =.
void matmul_wt(const float* x, std::span<const Matrix> parts, float* y, std::size_t rows, bool accumulate = false);
inline void matmul_wt(const float* x, const Matrix& w, float* y, std::size_t rows, bool accumulate = false) {
  matmul_wt(x, std::span<const Matrix>(&w, 1), y, rows, accumulate);
}

// Several products in one parallel loop (one wake-up of the pool instead of one per product: decode runs
// hundreds of small products per token): y[r * y_stride + o] (+)= x[r * w.cols() + .] . w[o] for each.
struct Product {
  const float* x;   // [rows, w->cols()]
  const Matrix* w;
  float* y;         // [rows, y_stride], the product's w->rows() outputs from column 0
  std::size_t y_stride;
};
void matmul_batch(std::span<const Product> products, std::size_t rows, bool accumulate = false);

// c[m, n] = a[m, k] B for activations (attention's Q K^T and P V), f32, row-major with row strides, on the
// calling thread (attention calls it from its own parallel tasks): B given as b[n][k] (OutputsByInputs, as the
// keys: c = a b^T) or as b[k][n] (InputsByOutputs, as the values: c = a b). The prefill products' packed
// AVX-512 kernel; OpenBLAS sgemm without AVX-512 (or with QK_GEMM=openblas).
enum class BLayout { OutputsByInputs, InputsByOutputs };
void gemm_f32(const float* a, std::size_t lda, std::size_t m, std::size_t k, const float* b, std::size_t ldb, BLayout layout,
              std::size_t n, float* c, std::size_t ldc, bool accumulate = false);  // accumulate: c += a b

enum class Bf16Kernel { Avx512, Avx2, Dpbf16, Plain };
inline constexpr Bf16Kernel kAllBf16Kernels[] = {Bf16Kernel::Avx512, Bf16Kernel::Avx2, Bf16Kernel::Dpbf16, Bf16Kernel::Plain};
// The fastest this CPU runs (QK_BF16_KERNEL=dpbf16|avx2|plain picks one, for measurements).
Bf16Kernel bf16_kernel();
const char* bf16_kernel_name(Bf16Kernel kernel);
bool bf16_kernel_available(Bf16Kernel kernel);

// y[r * y_stride + o] (+)= x[r] . w[o] for o in [o_begin, o_end), r < rows <= 8, with the given kernel (tests
// compare them): the few-rows product on bf16 rows w [*, in].
void dot_rows_bf16(Bf16Kernel kernel, const float* x, std::size_t rows, const std::uint16_t* w, std::size_t in,
                   std::size_t o_begin, std::size_t o_end, float* y, std::size_t y_stride, bool accumulate);

}  // namespace qk::engine
