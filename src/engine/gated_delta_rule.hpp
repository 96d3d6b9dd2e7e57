// The gated delta rule (Yang, Kautz & Hatamizadeh 2024, "Gated Delta Networks", arXiv:2412.06464) for
// one value head, on plain arrays. State S has shape [dk, dv] (row i = key feature i), as in transformers'
// torch_recurrent_gated_delta_rule. Per token t, with q already l2-normalised and scaled by 1/sqrt(dk),
// k l2-normalised, g = log decay (<= 0), beta in (0, 1):
//   S   <- exp(g) * S
//   S   <- S + k (beta * (v - S^T k))^T          (the delta rule: write v at key k, replacing what was there)
//   out  = S^T q
#pragma once
#include <cstddef>

namespace qk::engine {

// Strided view of one head's per-token vectors: token t's vector starts at data + t * stride.
struct HeadRows {
  const float* data;
  std::size_t stride;
  const float* row(std::size_t t) const { return data + t * stride; }
};

struct DeltaRuleShape {
  std::size_t dk;  // key (and query) features per head
  std::size_t dv;  // value features per head
};

// One token at a time: the O(1)-per-token decode path. g, beta: one value per token (stride 1 across
// tokens is not assumed: g[t * g_stride]). out: [tokens, out_stride], first dv features of each row written.
// With AVX-512 (CPU detection) an equivalent two-pass form in registers: a = S^T k and b = S^T q from one
// read of S, then delta = beta (v - exp(g) a), out = exp(g) b + (k . q) delta, S <- exp(g) S + k delta^T;
// it equals the plain loop up to rounding. Otherwise the plain loop.
void gated_delta_rule_recurrent(DeltaRuleShape shape, std::size_t tokens, HeadRows q, HeadRows k, HeadRows v,
                                const float* g, const float* beta, std::size_t gb_stride, float* state,
                                float* out, std::size_t out_stride);
// The reference loop, token by token as the formulas above read (tests compare the two).
void gated_delta_rule_recurrent_plain(DeltaRuleShape shape, std::size_t tokens, HeadRows q, HeadRows k, HeadRows v,
                                      const float* g, const float* beta, std::size_t gb_stride, float* state,
                                      float* out, std::size_t out_stride);
bool delta_rule_avx512_available();

// The same recurrence evaluated chunk by chunk (the WY form of transformers' torch_chunk_gated_delta_rule):
// within a chunk of C tokens the token-to-token updates become small dense products, so prefill costs
// O(C (dk + dv)) per token per head instead of a long sequential chain. Results equal the recurrent form
// up to rounding. chunk: tokens per chunk (64 in transformers and FLA). The products go through OpenBLAS on
// the calling thread; callers run heads in parallel on the engine's pool.
void gated_delta_rule_chunked(DeltaRuleShape shape, std::size_t tokens, HeadRows q, HeadRows k, HeadRows v,
                              const float* g, const float* beta, std::size_t gb_stride, float* state, float* out,
                              std::size_t out_stride, std::size_t chunk = 64);

}  // namespace qk::engine
