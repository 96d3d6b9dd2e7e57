// The weight products on bf16 and f32 weights: every bf16 kernel this CPU runs against a double-precision
// evaluation of the same sum (with the error bound of its arithmetic), the prefill product bit for bit
// against f32 weights of the same values, fused parts against one stacked matrix, and denormal flushing on
// the pool's threads.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "engine/flush_denormals.hpp"
#include "engine/matmul.hpp"
#include "io/dtype.hpp"
#include "util/thread_pool.hpp"

using namespace qk::engine;

namespace {

struct Bf16Weights {
  std::vector<std::uint16_t> bits;
  std::vector<float> values;  // the same weights widened to f32 (exact)
};

Bf16Weights random_bf16(std::size_t n, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, 0.05f);
  Bf16Weights w;
  for (std::size_t i = 0; i < n; ++i) {
    w.bits.push_back(qk::f32_to_bf16(dist(gen)));
    w.values.push_back(qk::bf16_to_f32(w.bits.back()));
  }
  return w;
}

std::vector<float> random_floats(std::size_t n, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

// Each kernel's result must lie within its error bound of the exact sum: f32 accumulation of exact products
// errs by at most about in * 2^-24 * sum |w x|; the split activations of Dpbf16 add 2^-16 * sum |w x|.
TEST(Matmul, EveryBf16KernelMatchesTheExactSumWithinItsBound) {
  for (Bf16Kernel kernel : kAllBf16Kernels) {
    if (!bf16_kernel_available(kernel)) {
      std::printf("bf16 kernel %s: not on this CPU\n", bf16_kernel_name(kernel));
      continue;
    }
    for (std::size_t in : {32u, 64u, 256u, 97u, 7u})
      for (std::size_t rows = 1; rows <= 8; ++rows) {
        const std::size_t out = 19;
        const auto w = random_bf16(out * in, 3);
        const auto x = random_floats(rows * in, 4);
        std::vector<float> y(rows * out, 1.0f);
        dot_rows_bf16(kernel, x.data(), rows, w.bits.data(), in, 2, out, y.data(), out, /*accumulate=*/true);
        const double relative = (kernel == Bf16Kernel::Dpbf16 ? std::ldexp(1.0, -16) : 0.0) + in * std::ldexp(1.0, -24);
        for (std::size_t r = 0; r < rows; ++r)
          for (std::size_t o = 0; o < out; ++o) {
            if (o < 2) {
              EXPECT_EQ(y[r * out + o], 1.0f) << "outside the output range";
              continue;
            }
            double exact = 0.0, magnitude = 0.0;
            for (std::size_t i = 0; i < in; ++i) {
              exact += static_cast<double>(w.values[o * in + i]) * x[r * in + i];
              magnitude += std::fabs(static_cast<double>(w.values[o * in + i]) * x[r * in + i]);
            }
            EXPECT_NEAR(y[r * out + o], 1.0 + exact, relative * magnitude + 1e-7)
                << bf16_kernel_name(kernel) << " in " << in << " rows " << rows << " output " << o;
          }
      }
  }
}

// Prefill packs bf16 weights widened to f32, so the product equals the one on f32 weights of the same values
// bit for bit; the fused product of two parts equals the product with the stacked matrix. Shapes leave tails
// in every blocking dimension (rows past a 12-row tile, outputs past a 32-wide panel, inputs past 256).
TEST(Matmul, PrefillOnBf16EqualsF32OfTheSameValuesAndPartsEqualTheStackedMatrix) {
  for (std::size_t rows : {9u, 12u, 30u}) {
    const std::size_t in = 300, out_a = 70, out_b = 33, out = out_a + out_b;
    const auto w = random_bf16(out * in, 5);
    const auto x = random_floats(rows * in, 6);
    const Matrix stacked_f32 = Matrix::view(w.values.data(), out, in);
    const Matrix parts[2] = {Matrix(std::vector<std::uint16_t>(w.bits.begin(), w.bits.begin() + out_a * in), out_a, in),
                             Matrix(std::vector<std::uint16_t>(w.bits.begin() + out_a * in, w.bits.end()), out_b, in)};
    std::vector<float> y_f32(rows * out), y_bf16(rows * out);
    matmul_wt(x.data(), stacked_f32, y_f32.data(), rows);
    matmul_wt(x.data(), parts, y_bf16.data(), rows);
    EXPECT_EQ(0, std::memcmp(y_f32.data(), y_bf16.data(), y_f32.size() * sizeof(float))) << rows << " rows";
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t o = 0; o < out; ++o) {
        double exact = 0.0, magnitude = 0.0;
        for (std::size_t i = 0; i < in; ++i) {
          exact += static_cast<double>(w.values[o * in + i]) * x[r * in + i];
          magnitude += std::fabs(static_cast<double>(w.values[o * in + i]) * x[r * in + i]);
        }
        ASSERT_NEAR(y_f32[r * out + o], exact, in * std::ldexp(1.0, -24) * magnitude) << r << " " << o;
      }
    // accumulate adds to what y holds
    std::vector<float> twice = y_f32;
    matmul_wt(x.data(), parts, twice.data(), rows, /*accumulate=*/true);
    for (std::size_t i = 0; i < twice.size(); ++i) ASSERT_NEAR(twice[i], 2 * y_f32[i], 1e-5f * (1 + std::fabs(y_f32[i])));
  }
}

TEST(Matmul, FlushDenormalsZeroesThemOnEveryPoolThreadAndRestoresTheMode) {
  volatile float tiny = 1e-30f;  // not a constant, so the products are computed at run time
  auto denormal_products = [&] {
    std::vector<float> results(64);
    qk::parallel_for(results.size(), [&](std::size_t i) { results[i] = tiny * 1e-9f; });  // 1e-39: denormal
    return results;
  };
  {
    const FlushDenormals flush;
    for (float v : denormal_products()) EXPECT_EQ(v, 0.0f);
  }
  for (float v : denormal_products()) EXPECT_GT(v, 0.0f);
}

}  // namespace
