// Elementwise and row kernels of the engine on plain float arrays (row-major, fp32).
// Every kernel states its shapes; `rows` counts tokens, `dim` the features of one token.
#pragma once
#include <cstddef>
#include <cstdint>

namespace qk::engine {

// y[rows, out] = x[rows, in] * w[out, in]^T  (a PyTorch nn.Linear without bias), via OpenBLAS.
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

inline float silu(float x) { return x / (1.0f + __builtin_expf(-x)); }
inline float sigmoid(float x) { return 1.0f / (1.0f + __builtin_expf(-x)); }
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
