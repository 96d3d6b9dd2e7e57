// Kernel checks on plain arrays against direct evaluations of their defining formulas.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "engine/gated_delta_rule.hpp"
#include "engine/kernels.hpp"

using namespace qk::engine;

namespace {

std::vector<float> random_vector(std::size_t n, std::uint32_t seed, float scale = 1.0f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float worst = 0.0f;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

TEST(Kernels, MatmulMatchesTripleLoopForOneAndManyRows) {
  // 1-8 rows: the streaming kernel (groups of four, a lone last row); 9: sgemm. in = 33 leaves a tail.
  for (std::size_t rows : {1u, 2u, 5u, 7u, 8u, 9u}) {
    const std::size_t in = 33, out = 17;
    auto x = random_vector(rows * in, 1), w = random_vector(out * in, 2);
    std::vector<float> y(rows * out), expect(rows * out, 0.0f);
    matmul_wt(x.data(), Matrix::view(w.data(), out, in), y.data(), rows);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t o = 0; o < out; ++o)
        for (std::size_t i = 0; i < in; ++i) expect[r * out + o] += x[r * in + i] * w[o * in + i];
    EXPECT_LT(max_abs_diff(y, expect), 1e-4f) << rows;
  }
}

TEST(Kernels, ZeroCentredRmsNormScalesByOnePlusWeight) {
  const std::vector<float> x = {1.0f, -2.0f, 3.0f, 0.5f}, w = {0.0f, 0.5f, -1.0f, 2.0f};
  std::vector<float> y(4), plain(4);
  rmsnorm(x.data(), w.data(), y.data(), 1, 4, 0.0f, true);
  rmsnorm(x.data(), w.data(), plain.data(), 1, 4, 0.0f, false);
  const float rms = std::sqrt((1 + 4 + 9 + 0.25f) / 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(y[i], x[i] / rms * (1 + w[i]), 1e-6f);
    EXPECT_NEAR(plain[i], x[i] / rms * w[i], 1e-6f);
  }
}

TEST(Kernels, RopeRotatesPairsHalfApartAndLeavesTheRestAlone) {
  // head_dim 8, rotary_dim 4: pairs (0,2) and (1,3) rotate, features 4..7 pass through.
  RopeTable table{4, 10000.0f};
  std::vector<float> cos(2), sin(2);
  table.at(3, cos.data(), sin.data());
  EXPECT_NEAR(cos[0], std::cos(3.0f), 1e-6f);               // inv_freq[0] = 1
  EXPECT_NEAR(sin[1], std::sin(3.0f / 100.0f), 1e-6f);      // inv_freq[1] = 10000^(-2/4)
  std::vector<float> h = {1, 2, 3, 4, 5, 6, 7, 8};
  apply_rope(h.data(), cos.data(), sin.data(), 4);
  EXPECT_NEAR(h[0], 1 * cos[0] - 3 * sin[0], 1e-6f);
  EXPECT_NEAR(h[2], 3 * cos[0] + 1 * sin[0], 1e-6f);
  EXPECT_NEAR(h[1], 2 * cos[1] - 4 * sin[1], 1e-6f);
  EXPECT_EQ(h[4], 5.0f);
  EXPECT_EQ(h[7], 8.0f);
}

TEST(Kernels, ExpApproxIsWithinAFewUlpOfExp) {
  double worst = 0;
  for (float x = -87.0f; x < 88.0f; x += 0.001f) {
    const double e = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::fabs(exp_approx(x) - e) / e);
  }
  EXPECT_LT(worst, 2.5e-7);
  // Far outside the float range it saturates instead of producing inf * 0 or NaN in silu and sigmoid.
  EXPECT_NEAR(silu(-1000.0f), 0.0f, 1e-30f);
  EXPECT_EQ(sigmoid(1000.0f), 1.0f);
  EXPECT_FLOAT_EQ(silu(1000.0f), 1000.0f);
}

TEST(Kernels, ArrayActivationsMatchScalarFormulas) {
  const std::size_t n = 1003;  // not a multiple of any vector width
  auto a = random_vector(n, 21, 3.0f), z = random_vector(n, 22, 3.0f);
  std::vector<float> s = a, ms = a, mg = a, sw(n);
  silu_inplace(s.data(), n);
  mul_silu(ms.data(), z.data(), n);
  mul_sigmoid(mg.data(), z.data(), n);
  swiglu(z.data(), a.data(), sw.data(), n);
  for (std::size_t i = 0; i < n; ++i) {
    const double sig_a = 1 / (1 + std::exp(-double(a[i]))), sig_z = 1 / (1 + std::exp(-double(z[i])));
    EXPECT_NEAR(s[i], a[i] * sig_a, 1e-5) << i;
    EXPECT_NEAR(ms[i], a[i] * z[i] * sig_z, 1e-5) << i;
    EXPECT_NEAR(mg[i], a[i] * sig_z, 1e-5) << i;
    EXPECT_NEAR(sw[i], z[i] * sig_z * a[i], 1e-5) << i;
  }
}

TEST(Kernels, CausalConvCarriesHistoryAcrossCalls) {
  // 3 channels in one range; 1000 channels split into ranges run in parallel. Pieces shorter than the
  // history (1 and 2 tokens) shift the state in place.
  for (std::size_t channels : {3u, 1000u}) {
    SCOPED_TRACE(channels);
    const std::size_t kernel = 4, tokens = 300;
    auto x = random_vector(tokens * channels, 3), w = random_vector(channels * kernel, 4);
    // Direct formula with zero history.
    std::vector<float> expect(tokens * channels);
    for (std::size_t t = 0; t < tokens; ++t)
      for (std::size_t c = 0; c < channels; ++c) {
        float acc = 0.0f;
        for (std::size_t k = 0; k < kernel; ++k) {
          const long src = static_cast<long>(t) - static_cast<long>(kernel - 1) + static_cast<long>(k);
          if (src >= 0) acc += w[c * kernel + k] * x[src * channels + c];
        }
        expect[t * channels + c] = silu(acc);
      }
    // In pieces of 2, 1, 6 and 291 tokens. (Outputs reach ~10; the AVX2 build fuses multiply-adds.)
    std::vector<float> state((kernel - 1) * channels, 0.0f), out(tokens * channels);
    std::size_t t0 = 0;
    for (std::size_t n : {2u, 1u, 6u, 291u}) {
      causal_conv1d_silu(x.data() + t0 * channels, channels, n, channels, w.data(), kernel, state.data(),
                         out.data() + t0 * channels, channels);
      t0 += n;
    }
    EXPECT_LT(max_abs_diff(out, expect), 1e-5f);
  }
}

// The chunked form (prefill) and the recurrence (decode) compute the same outputs and final state,
// including a partial last chunk and a non-zero initial state.
TEST(Kernels, ChunkedDeltaRuleEqualsRecurrence) {
  const std::size_t dk = 16, dv = 8, T = 150;
  auto q = random_vector(T * dk, 5), k = random_vector(T * dk, 6), v = random_vector(T * dv, 7);
  for (std::size_t t = 0; t < T; ++t) {
    l2norm_inplace(q.data() + t * dk, dk, 1e-6f);
    l2norm_inplace(k.data() + t * dk, dk, 1e-6f);
  }
  std::vector<float> g(T), beta(T);
  std::mt19937 gen(8);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (std::size_t t = 0; t < T; ++t) {
    g[t] = -2.0f * u(gen);
    beta[t] = u(gen);
  }
  auto init = random_vector(dk * dv, 9, 0.3f);
  std::vector<float> s1 = init, s2 = init, o1(T * dv), o2(T * dv);
  gated_delta_rule_recurrent({dk, dv}, T, {q.data(), dk}, {k.data(), dk}, {v.data(), dv}, g.data(), beta.data(), 1,
                             s1.data(), o1.data(), dv);
  gated_delta_rule_chunked({dk, dv}, T, {q.data(), dk}, {k.data(), dk}, {v.data(), dv}, g.data(), beta.data(), 1,
                           s2.data(), o2.data(), dv, 64);
  EXPECT_LT(max_abs_diff(o1, o2), 2e-5f);
  EXPECT_LT(max_abs_diff(s1, s2), 2e-5f);
}

// Decode's recurrence (the AVX-512 two-pass form where the CPU has it) against the reference loop, on the
// shipped models' head shape (128 x 128) and on widths with partial vectors and more than one column block.
TEST(Kernels, RecurrentDeltaRuleEqualsReferenceLoop) {
  if (!delta_rule_avx512_available()) GTEST_SKIP() << "no AVX-512: the engine runs the reference loop itself";
  for (auto [dk, dv] : {std::pair<std::size_t, std::size_t>{128, 128}, {32, 40}, {16, 200}}) {
    const std::size_t T = 5;
    auto q = random_vector(T * dk, 21), k = random_vector(T * dk, 22), v = random_vector(T * dv, 23);
    for (std::size_t t = 0; t < T; ++t) {
      l2norm_inplace(q.data() + t * dk, dk, 1e-6f);
      l2norm_inplace(k.data() + t * dk, dk, 1e-6f);
    }
    const std::vector<float> g = {-0.1f, -1.5f, 0.0f, -0.7f, -0.02f}, beta = {0.9f, 0.2f, 1.0f, 0.5f, 0.05f};
    auto init = random_vector(dk * dv, 24, 0.3f);
    std::vector<float> s1 = init, s2 = init, o1(T * dv), o2(T * dv);
    gated_delta_rule_recurrent({dk, dv}, T, {q.data(), dk}, {k.data(), dk}, {v.data(), dv}, g.data(), beta.data(), 1,
                               s1.data(), o1.data(), dv);
    gated_delta_rule_recurrent_plain({dk, dv}, T, {q.data(), dk}, {k.data(), dk}, {v.data(), dv}, g.data(),
                                     beta.data(), 1, s2.data(), o2.data(), dv);
    EXPECT_LT(max_abs_diff(o1, o2), 1e-5f) << dk << " x " << dv;
    EXPECT_LT(max_abs_diff(s1, s2), 1e-5f) << dk << " x " << dv;
  }
}

TEST(Kernels, DeltaRuleWritesValueAtKeyWithFullBetaAndNoDecay) {
  // beta = 1, g = 0: after one token the state maps k to v exactly, so a query equal to k reads v.
  const std::size_t dk = 4, dv = 3;
  std::vector<float> k = {0.5f, 0.5f, 0.5f, 0.5f}, v = {1.0f, -2.0f, 3.0f}, state(dk * dv, 0.0f), out(dv);
  const float g = 0.0f, beta = 1.0f;
  gated_delta_rule_recurrent({dk, dv}, 1, {k.data(), dk}, {k.data(), dk}, {v.data(), dv}, &g, &beta, 1, state.data(),
                             out.data(), dv);
  for (std::size_t j = 0; j < dv; ++j) EXPECT_NEAR(out[j], v[j], 1e-6f);
}

// Every attention path against a direct softmax: one position (decode) within one block of 128 cached
// positions and over several merged ones (past 300, the last block partial), query blocks of 128 positions,
// a last query block of one position (n = 129), and query blocks over two chunks of 512 keys (past 400: the
// online softmax's rescaling, and rows whose keys end inside the first chunk). Decode also with 1 and 4 query
// heads per KV head and with 8 heads (its value loop takes 16 / (head_dim / 16) heads at a time), and over 32
// positions.
TEST(Kernels, CausalAttentionMatchesDirectSoftmaxOnEveryPath) {
  struct Case { std::size_t n, past, heads, kv_heads; };
  for (auto [n, past, heads, kv_heads] : {Case{1, 5, 4, 2}, {1, 300, 4, 2}, {1, 300, 4, 4}, {1, 300, 8, 2}, {1, 31, 8, 2},
                                          {3, 5, 4, 2}, {129, 5, 4, 2}, {300, 5, 4, 2}, {130, 400, 4, 2}})
  for (std::size_t hd : {8u, 64u, 128u, 256u}) {  // prefill: within one 16-input block of the packed product and whole
                                                   // blocks; decode: OpenBLAS, and the AVX-512 loops of 4, 8 and 16 blocks
    const std::size_t P = past + n;
    auto q = random_vector(n * heads * hd, 10), keys = random_vector(P * kv_heads * hd, 11),
         values = random_vector(P * kv_heads * hd, 12);
    const AttentionShape s{heads, kv_heads, hd, 0.35f};
    std::vector<float> out(n * heads * hd), expect(n * heads * hd, 0.0f);
    causal_attention(s, q.data(), n, keys.data(), values.data(), past, out.data());
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t h = 0; h < heads; ++h) {
        const std::size_t kv = h / (heads / kv_heads), visible = past + i + 1;
        std::vector<double> w(visible);
        double max = -1e30, sum = 0;
        for (std::size_t p = 0; p < visible; ++p) {
          double dot = 0;
          for (std::size_t d = 0; d < hd; ++d) dot += q[(i * heads + h) * hd + d] * keys[(p * kv_heads + kv) * hd + d];
          max = std::max(max, w[p] = dot * s.scale);
        }
        for (auto& x : w) sum += x = std::exp(x - max);
        for (std::size_t p = 0; p < visible; ++p)
          for (std::size_t d = 0; d < hd; ++d)
            expect[(i * heads + h) * hd + d] += static_cast<float>(w[p] / sum) * values[(p * kv_heads + kv) * hd + d];
      }
    // float scores of hd-term dot products and float sums over the keys: their rounding grows with both (head
    // dim 256: 1.5e-5; 128 over 530 keys: 1.3e-5, the same before the online softmax)
    const float tolerance = 2e-5f * std::max(1.0f, static_cast<float>(hd) / 128.0f);
    EXPECT_LT(max_abs_diff(out, expect), tolerance)
        << n << " positions after " << past << ", head dim " << hd << ", " << heads << " heads on " << kv_heads;
  }
}

// The vectorized softmax gives the plain loops' bits: on scores of attention's range, on values whose
// exponent is clamped (x - max below -87.3), on every length's tail (n mod 8), and on rows holding
// -infinity or signed zeros.
TEST(Kernels, SoftmaxIsBitIdenticalToThePlainLoops) {
  std::mt19937 gen(21);
  std::vector<std::vector<float>> rows;
  for (std::size_t n : {1u, 2u, 7u, 8u, 9u, 15u, 16u, 17u, 31u, 64u, 129u, 1000u, 4099u})
    for (float scale : {0.01f, 1.0f, 8.0f, 60.0f, 400.0f}) rows.push_back(random_vector(n, static_cast<std::uint32_t>(gen()), scale));
  std::uniform_real_distribution<float> wide(-1e4f, 1e4f);
  for (int r = 0; r < 200; ++r) {
    std::vector<float> row(1 + gen() % 300);
    for (auto& x : row) x = gen() % 4 == 0 ? wide(gen) : static_cast<float>(gen() % 1000) / 37.0f;
    rows.push_back(row);
  }
  const float inf = std::numeric_limits<float>::infinity();
  rows.push_back(std::vector<float>(33, 0.0f));
  std::vector<float> sweep(1 << 20);  // x - max over all of [-90, 0] in steps of 2^-20 x 90, and each sign of zero
  for (std::size_t i = 0; i < sweep.size(); ++i) sweep[i] = -90.0f * static_cast<float>(i) / static_cast<float>(sweep.size());
  rows.push_back(sweep);
  rows.push_back({-0.0f, 0.0f, -0.0f, 0.0f, -0.0f, 0.0f, -0.0f, 0.0f, -0.0f, -5.0f});
  // -inf (a masked score) is where the lanes hand over to the plain loops; +inf and NaN would reach
  // exp_approx's float-to-int conversion as NaN, undefined in either code.
  rows.push_back({1, 2, 3, -inf, 5, 6, 7, 8, 9, 10, -inf});
  rows.push_back({-inf, -inf, -inf, -inf, -inf, -inf, -inf, -inf, 1});
  rows.push_back({1, 2, 3, 4, 5, 6, 7, 8, 9, -inf});
  std::size_t checked = 0;
  for (const auto& row : rows) {
    std::vector<float> got = row, want = row;
    softmax_inplace(got.data(), got.size());
    softmax_reference(want.data(), want.size());
    EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0) << "row " << checked << " of " << row.size();
    ++checked;
  }
  // The reference itself is a softmax.
  std::vector<float> row = random_vector(100, 5, 3.0f), expect = row;
  softmax_inplace(row.data(), row.size());
  double max = *std::max_element(expect.begin(), expect.end()), sum = 0;
  for (auto& x : expect) sum += x = static_cast<float>(std::exp(static_cast<double>(x) - max));
  for (auto& x : expect) x = static_cast<float>(x / sum);
  EXPECT_LT(max_abs_diff(row, expect), 1e-6f);
}

}  // namespace
