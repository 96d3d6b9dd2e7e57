#include "engine/gated_delta_rule.hpp"

#include "engine/kernels.hpp"
#include "engine/matmul.hpp"
#include "engine/simd.hpp"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace qk::engine {
namespace {

// row[j] *= sign * exp(G[i] - G[j]) for j < count, i = the row's own token: the decay between tokens j and i.
QK_SIMD_CLONES void decay_row(float* row, const float* G, std::size_t i, std::size_t count, float sign) {
  const float gi = G[i];
  for (std::size_t j = 0; j < count; ++j) row[j] *= sign * exp_approx(gi - G[j]);
}
// y[:n] += a x[:n]
QK_SIMD_CLONES void axpy(float a, const float* x, float* y, std::size_t n) {
  for (std::size_t j = 0; j < n; ++j) y[j] += a * x[j];
}

#if defined(__x86_64__) && defined(__GNUC__)
// One token of the recurrence on the state's columns [j0, j0 + 16 NV) (the last vector masked by `last`),
// in an equivalent two-pass form: one read of S, then one read-modify-write (the loop above makes two):
//   a = S^T k,  b = S^T q                     (S before this token)
//   delta = beta (v - exp(g) a)
//   out = exp(g) b + (k . q) delta            (= S'^T q)
//   S' = exp(g) S + k delta^T
// a, b and delta stay in registers (up to 8 vectors each); every row of S is a few aligned-or-not loads.
template <int NV>
QK_AVX512 void delta_rule_columns(std::size_t dk, std::size_t dv, std::size_t j0, __mmask16 last, const float* qt,
                                  const float* kt, const float* vt, float decay, float beta, float kq, float* state,
                                  float* ot) {
  __mmask16 mask[NV];
#pragma GCC unroll 8
  for (int c = 0; c < NV; ++c) mask[c] = c == NV - 1 ? last : static_cast<__mmask16>(0xFFFF);
  __m512 a[NV], b[NV], delta[NV];
#pragma GCC unroll 8
  for (int c = 0; c < NV; ++c) a[c] = b[c] = _mm512_setzero_ps();
  for (std::size_t i = 0; i < dk; ++i) {
    const float* si = state + i * dv + j0;
    const __m512 ki = _mm512_set1_ps(kt[i]), qi = _mm512_set1_ps(qt[i]);
#pragma GCC unroll 8
    for (int c = 0; c < NV; ++c) {
      const __m512 s = _mm512_maskz_loadu_ps(mask[c], si + 16 * c);
      a[c] = _mm512_fmadd_ps(s, ki, a[c]);
      b[c] = _mm512_fmadd_ps(s, qi, b[c]);
    }
  }
  const __m512 d = _mm512_set1_ps(decay), be = _mm512_set1_ps(beta), kqv = _mm512_set1_ps(kq);
#pragma GCC unroll 8
  for (int c = 0; c < NV; ++c) {
    const __m512 v = _mm512_maskz_loadu_ps(mask[c], vt + j0 + 16 * c);
    delta[c] = _mm512_mul_ps(be, _mm512_fnmadd_ps(d, a[c], v));
    _mm512_mask_storeu_ps(ot + j0 + 16 * c, mask[c], _mm512_fmadd_ps(d, b[c], _mm512_mul_ps(kqv, delta[c])));
  }
  for (std::size_t i = 0; i < dk; ++i) {
    float* si = state + i * dv + j0;
    const __m512 ki = _mm512_set1_ps(kt[i]);
#pragma GCC unroll 8
    for (int c = 0; c < NV; ++c) {
      const __m512 s = _mm512_maskz_loadu_ps(mask[c], si + 16 * c);
      _mm512_mask_storeu_ps(si + 16 * c, mask[c], _mm512_fmadd_ps(d, s, _mm512_mul_ps(ki, delta[c])));
    }
  }
}

template <int... NV>
void delta_rule_columns_of(std::size_t vectors, std::integer_sequence<int, NV...>, std::size_t dk, std::size_t dv,
                           std::size_t j0, __mmask16 last, const float* qt, const float* kt, const float* vt,
                           float decay, float beta, float kq, float* state, float* ot) {
  ((vectors == static_cast<std::size_t>(NV + 1)
        ? delta_rule_columns<NV + 1>(dk, dv, j0, last, qt, kt, vt, decay, beta, kq, state, ot)
        : void()),
   ...);
}

void gated_delta_rule_recurrent_avx512(DeltaRuleShape shape, std::size_t tokens, HeadRows q, HeadRows k, HeadRows v,
                                       const float* g, const float* beta, std::size_t gb_stride, float* state,
                                       float* out, std::size_t out_stride) {
  constexpr std::size_t kColumns = 128;  // 8 vectors of a, b and delta in registers
  const std::size_t dk = shape.dk, dv = shape.dv;
  for (std::size_t t = 0; t < tokens; ++t) {
    const float* qt = q.row(t);
    const float* kt = k.row(t);
    float kq = 0.0f;
    for (std::size_t i = 0; i < dk; ++i) kq += kt[i] * qt[i];
    const float decay = std::exp(g[t * gb_stride]), b = beta[t * gb_stride];
    for (std::size_t j0 = 0; j0 < dv; j0 += kColumns) {
      const std::size_t width = std::min(kColumns, dv - j0), vectors = (width + 15) / 16;
      const auto last = static_cast<__mmask16>(width % 16 ? (1u << (width % 16)) - 1 : 0xFFFF);
      delta_rule_columns_of(vectors, std::make_integer_sequence<int, kColumns / 16>{}, dk, dv, j0, last, qt, kt,
                            v.row(t), decay, b, kq, state, out + t * out_stride);
    }
  }
}
#endif

}  // namespace

bool delta_rule_avx512_available() {
#if defined(__x86_64__) && defined(__GNUC__)
  return cpu_has_avx512();
#else
  return false;
#endif
}

void gated_delta_rule_recurrent(DeltaRuleShape shape, std::size_t tokens, HeadRows q, HeadRows k, HeadRows v,
                                const float* g, const float* beta, std::size_t gb_stride, float* state, float* out,
                                std::size_t out_stride) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (delta_rule_avx512_available())
    return gated_delta_rule_recurrent_avx512(shape, tokens, q, k, v, g, beta, gb_stride, state, out, out_stride);
#endif
  gated_delta_rule_recurrent_plain(shape, tokens, q, k, v, g, beta, gb_stride, state, out, out_stride);
}

// The reference loop, as the formulas read (and the path of CPUs without AVX-512). GCC does not vectorise it
// (it cannot rule out that state, delta and out overlap), hence the AVX-512 form above for decode.
QK_SIMD_CLONES void gated_delta_rule_recurrent_plain(DeltaRuleShape shape, std::size_t tokens, HeadRows q, HeadRows k, HeadRows v,
                                const float* g, const float* beta, std::size_t gb_stride, float* state,
                                float* out, std::size_t out_stride) {
  const std::size_t dk = shape.dk, dv = shape.dv;
  std::vector<float> delta(dv);
  for (std::size_t t = 0; t < tokens; ++t) {
    const float* qt = q.row(t);
    const float* kt = k.row(t);
    const float* vt = v.row(t);
    const float decay = std::exp(g[t * gb_stride]);
    const float b = beta[t * gb_stride];
    // S <- exp(g) S;  kv_mem = S^T k
    for (std::size_t j = 0; j < dv; ++j) delta[j] = 0.0f;
    for (std::size_t i = 0; i < dk; ++i) {
      float* si = state + i * dv;
      for (std::size_t j = 0; j < dv; ++j) {
        si[j] *= decay;
        delta[j] += si[j] * kt[i];
      }
    }
    // delta = beta (v - kv_mem)
    for (std::size_t j = 0; j < dv; ++j) delta[j] = (vt[j] - delta[j]) * b;
    // S <- S + k delta^T;  out = S^T q
    float* ot = out + t * out_stride;
    for (std::size_t j = 0; j < dv; ++j) ot[j] = 0.0f;
    for (std::size_t i = 0; i < dk; ++i) {
      float* si = state + i * dv;
      for (std::size_t j = 0; j < dv; ++j) {
        si[j] += kt[i] * delta[j];
        ot[j] += si[j] * qt[i];
      }
    }
  }
}

void gated_delta_rule_chunked(DeltaRuleShape shape, std::size_t tokens, HeadRows q, HeadRows k, HeadRows v,
                              const float* g, const float* beta, std::size_t gb_stride, float* state, float* out,
                              std::size_t out_stride, std::size_t chunk) {
  const std::size_t dk = shape.dk, dv = shape.dv, C = chunk;
  std::vector<float> G(C), T(C * C), U(C * dv), W(C * dk), vb(C * dv), kb(C * dk), qg(C * dk), kwT(dk * C),
      intra(C * C), a(C);
  for (std::size_t start = 0; start < tokens; start += C) {
    const std::size_t n = std::min(C, tokens - start);
    const float* q0 = q.row(start);
    const float* k0 = k.row(start);
    float* o0 = out + start * out_stride;

    // G[t] = sum_{s<=t} g[s]: cumulative log decay inside the chunk
    float acc = 0.0f;
    for (std::size_t t = 0; t < n; ++t) G[t] = acc += g[(start + t) * gb_stride];
    const float last = G[n - 1];
    // kb = beta k,  vb = beta v,  qg = exp(G) q,  kwT = (exp(G_last - G) k)^T, stored [dk][C]
    for (std::size_t t = 0; t < n; ++t) {
      const float b = beta[(start + t) * gb_stride], eg = std::exp(G[t]), ew = std::exp(last - G[t]);
      const float* kt = k.row(start + t);
      const float* qt = q.row(start + t);
      const float* vt = v.row(start + t);
      for (std::size_t f = 0; f < dk; ++f) {
        kb[t * dk + f] = b * kt[f];
        qg[t * dk + f] = eg * qt[f];
        kwT[f * C + t] = ew * kt[f];
      }
      for (std::size_t j = 0; j < dv; ++j) vb[t * dv + j] = b * vt[j];
    }

    // T = (I + L)^-1 with L[i][j] = beta_i (k_i . k_j) exp(G_i - G_j) for j < i, by forward substitution:
    // T[i][j] = A[i][j] + sum_{j<m<i} A[i][m] T[m][j] with A = -L, then the identity on the diagonal.
    // Row by row: T[i][:i] = A[i][:i] + sum_{m<i} A[i][m] T[m][:m] (rows m < i are final), as axpys.
    gemm_f32(kb.data(), dk, n, dk, k0, k.stride, BLayout::OutputsByInputs, n, T.data(), C);
    for (std::size_t i = 0; i < n; ++i) {
      float* Ti = T.data() + i * C;
      decay_row(Ti, G.data(), i, i, -1.0f);  // A[i][j] = -L[i][j]
      std::copy_n(Ti, i, a.data());
      for (std::size_t m = 1; m < i; ++m) axpy(a[m], T.data() + m * C, Ti, m);
      Ti[i] = 1.0f;
      for (std::size_t j = i + 1; j < n; ++j) Ti[j] = 0.0f;
    }
    // U = T (beta v);  W = -T (beta k exp(G)), negated so that the product below subtracts by accumulating
    // (kb scaled by -exp(G) in place: kb is not needed after)
    for (std::size_t t = 0; t < n; ++t) {
      const float eg = std::exp(G[t]);
      for (std::size_t f = 0; f < dk; ++f) kb[t * dk + f] *= -eg;
    }
    gemm_f32(T.data(), C, n, n, vb.data(), dv, BLayout::InputsByOutputs, dv, U.data(), dv);
    gemm_f32(T.data(), C, n, n, kb.data(), dk, BLayout::InputsByOutputs, dk, W.data(), dk);
    // v_new = U + W S = U - T (beta k exp(G)) S  (the values still to be written once the state's current recall
    // is removed)
    gemm_f32(W.data(), dk, n, dk, state, dv, BLayout::InputsByOutputs, dv, U.data(), dv, true);
    // out = (exp(G) q) S + (q k^T * exp(G_i - G_j), j <= i) v_new
    gemm_f32(qg.data(), dk, n, dk, state, dv, BLayout::InputsByOutputs, dv, o0, out_stride);
    gemm_f32(q0, q.stride, n, dk, k0, k.stride, BLayout::OutputsByInputs, n, intra.data(), C);
    for (std::size_t i = 0; i < n; ++i) {
      float* row = intra.data() + i * C;
      decay_row(row, G.data(), i, i + 1, 1.0f);
      for (std::size_t j = i + 1; j < n; ++j) row[j] = 0.0f;
    }
    gemm_f32(intra.data(), C, n, n, U.data(), dv, BLayout::InputsByOutputs, dv, o0, out_stride, true);
    // S <- exp(G_last) S + kwT v_new
    const float decay = std::exp(last);
    for (std::size_t e = 0; e < dk * dv; ++e) state[e] *= decay;
    gemm_f32(kwT.data(), C, dk, n, U.data(), dv, BLayout::InputsByOutputs, dv, state, dv, true);
  }
}

}  // namespace qk::engine
