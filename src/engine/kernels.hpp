// The engine's kernels on plain float arrays (row-major, fp32): elementwise and row kernels (kernels.cpp),
// the weight products (matmul.hpp),
// attention over a KV cache (attention_kernel.cpp), the short convolution (causal_conv1d.cpp), and the
// per-thread scratch buffers the layers work in.
// Every kernel states its shapes; `rows` counts tokens, `dim` the features of one token.
#pragma once
#include <bit>
#include <cstddef>
#include <cstdint>

#include "engine/matmul.hpp"

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

// In-place softmax of one row (max-subtracted). With AVX2 the max, exp and scaling run 8 lanes at a time,
// bit for bit the results of softmax_reference (the plain loops) on the same CPU.
void softmax_inplace(float* x, std::size_t n);
void softmax_reference(float* x, std::size_t n);

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

// Causal softmax attention of new queries over a KV cache, with grouped-query heads.
struct AttentionShape {
  std::size_t heads;     // query heads
  std::size_t kv_heads;  // key/value heads; query head h reads kv head h / (heads / kv_heads)
  std::size_t head_dim;
  float scale;           // logits = scale * q . k  (head_dim^-0.5 in Qwen3-Next)
};

// q:    [n, heads * head_dim], the queries of positions past .. past + n - 1
// keys, values: [past + n, kv_heads * head_dim], the whole cache including the n new tokens
// out:  [n, heads * head_dim]
// Query i sees keys 0 .. past + i. Heads and blocks of 128 queries run in parallel on the engine's pool, each
// over chunks of 512 keys with the online softmax; one query (decode): blocks of 128 positions in parallel,
// merged in order (attention_kernel.cpp).
void causal_attention(const AttentionShape& shape, const float* q, std::size_t n, const float* keys,
                      const float* values, std::size_t past, float* out);

// The probabilities one query row of head `head` puts on keys 0 .. visible - 1 (softmax(scale q K^T)),
// as causal_attention computes them; for probes, off the hot path. q: [head_dim] of that head.
void attention_probabilities(const AttentionShape& shape, const float* q, std::size_t head, const float* keys,
                             std::size_t visible, float* probabilities);

// Depthwise causal 1-D convolution with SiLU, as the short convolution of Gated DeltaNet / Mamba layers
// (transformers' causal_conv1d_fn / causal_conv1d_update with activation "silu", no bias).
// x: [tokens, channels] (row stride x_stride), weight: [channels, kernel] (conv1d.weight squeezed),
// state: [kernel-1, channels], the previous inputs oldest first (zeros before the first token); it is
// updated to the last kernel-1 inputs. out: [tokens, channels] (row stride out_stride), may not alias x.
//   out[t][c] = silu(sum_k weight[c][k] * x[t - (kernel-1) + k][c])
void causal_conv1d_silu(const float* x, std::size_t x_stride, std::size_t tokens, std::size_t channels,
                        const float* weight, std::size_t kernel, float* state, float* out, std::size_t out_stride);

// Reusable per-thread buffers for a forward's intermediate activations. Fresh std::vectors cost a 4K-token
// prefill hundreds of MB of zeroing and page faults per layer (a few percent of its wall time); these keep
// their capacity from one forward to the next. Each call site has its own slot, and a slot is live only
// inside one layer's forward, so layers of the same kind reuse it one after another (the two Residual slots:
// inside one forward, around its layers). Contents are left over from the last use: callers write every
// element before reading it.
enum class Scratch : std::size_t {
  DeltaNetProjection, DeltaNetGates, DeltaNetMixed, DeltaNetZ, DeltaNetBeta, DeltaNetG, DeltaNetConv, DeltaNetCore,
  AttentionQueryGate, AttentionKeyValue, AttentionQuery, AttentionOut,
  MlpGateUp, MlpAct,
  MoeRouterLogits, MoeExpertIn, MoeExpertOut, MoeSharedOut, MoeSharedGate,
  ResidualNormed, ResidualMixed,
  Count
};

// At least `floats` floats for `slot` on the calling thread, valid until the next call for the same slot.
float* scratch(Scratch slot, std::size_t floats);

}  // namespace qk::engine
