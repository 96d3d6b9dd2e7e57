// Elementwise and row kernels of the engine on plain float arrays (row-major, fp32).
// Every kernel states its shapes; `rows` counts tokens, `dim` the features of one token.
#pragma once
#include <bit>
#include <cstddef>
#include <cstdint>

// Array kernels marked QK_SIMD_CLONES are compiled twice, for x86-64-v3 (AVX2) and the baseline, and the
// loader picks the one the CPU runs (GCC/clang function multi-versioning); the build itself targets the
// baseline so the binary runs anywhere. The AVX2 version may fuse multiply-adds, so the two can differ in
// the last bits (well inside the engine's parity bounds).
#if defined(__x86_64__) && defined(__GNUC__)
#define QK_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define QK_SIMD_CLONES
#endif

namespace qk::engine {

// y[rows, out] = x[rows, in] * w[out, in]^T  (a PyTorch nn.Linear without bias), on the engine's threads:
// OpenBLAS sgemm per block of outputs, or for up to 8 rows (decode, batched decode) a kernel that streams
// each weight once.
// accumulate: y += instead of y =.
void matmul_wt(const float* x, const float* w, float* y, std::size_t rows, std::size_t in, std::size_t out,
               bool accumulate = false);

// RMSNorm over each row: y = x / sqrt(mean(x^2) + eps) * scale, where scale = 1 + weight for the
// zero-centred variant (Qwen3NextRMSNorm) and scale = weight otherwise (Qwen3NextRMSNormGated).
// x and y may alias.
void rmsnorm(const float* x, const float* weight, float* y, std::size_t rows, std::size_t dim, float eps,
             bool zero_centred);

// L2 normalisation as FLA / transformers' l2norm: x * rsqrt(sum(x^2) + eps), in place on one vector.
void l2norm_inplace(float* x, std::size_t dim, float eps);

// exp(x) without branches or calls, so that loops over arrays vectorize (Cephes expf): x = n ln2 + r with
// |r| <= ln2/2 (ln2 split in two for an exact n ln2, Cody-Waite), exp(r) by its degree-7 Taylor-like
// minimax polynomial, 2^n written into the exponent bits. Relative error about 2 ulp against expf.
// x is clamped to [-87.3, 88.3] (results stay normal floats: exp(-87.3) ~ 1.2e-38, exp(88.3) ~ 2.2e38).
inline float exp_approx(float x) {
  x = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);
  // n = round(x / ln2): adding 1.5 * 2^23 rounds to an integer in the default rounding mode
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  return p * std::bit_cast<float>((static_cast<std::int32_t>(n) + 127) << 23);
}

inline float silu(float x) { return x / (1.0f + exp_approx(-x)); }
inline float sigmoid(float x) { return 1.0f / (1.0f + exp_approx(-x)); }

// Elementwise over n values (vectorised): x = silu(x);  a *= silu(z);  a *= sigmoid(z);
// out = silu(gate) * up (SwiGLU).
void silu_inplace(float* x, std::size_t n);
void mul_silu(float* a, const float* z, std::size_t n);
void mul_sigmoid(float* a, const float* z, std::size_t n);
void swiglu(const float* gate, const float* up, float* out, std::size_t n);
// softplus as torch.nn.functional.softplus (beta 1, threshold 20: linear above it).
inline float softplus(float x) { return x > 20.0f ? x : __builtin_log1pf(__builtin_expf(x)); }

// In-place softmax of one row (max-subtracted).
void softmax_inplace(float* x, std::size_t n);

// Rotary position embedding, Hugging Face convention (rotate_half): within the first `rotary_dim`
// features of a head, feature j pairs with j + rotary_dim/2; the rest pass through.
// cos/sin hold rotary_dim/2 values for this token's position. Applied in place to one head vector.
void apply_rope(float* head, const float* cos, const float* sin, std::size_t rotary_dim);

// Rotary tables as transformers computes them in fp32: inv_freq[i] = 1 / theta^(2i / rotary_dim),
// angle = float(position) * inv_freq[i] rounded to float, then cos/sin. Out: rotary_dim/2 each.
struct RopeTable {
  std::size_t rotary_dim = 0;
  float theta = 10000.0f;
  void inverse_frequencies(float* inv_freq) const;
  void at(std::int64_t position, float* cos, float* sin) const;
};

}  // namespace qk::engine
