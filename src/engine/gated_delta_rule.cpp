#include "engine/gated_delta_rule.hpp"

#include <cmath>
#include <vector>

namespace qk::engine {

void gated_delta_rule_recurrent(DeltaRuleShape shape, std::size_t tokens, HeadRows q, HeadRows k, HeadRows v,
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
  std::vector<float> G(C), T(C * C), U(C * dv), W(C * dk), vnew(C * dv), intra(C * C), kb(C * dk);
  for (std::size_t start = 0; start < tokens; start += C) {
    const std::size_t n = std::min(C, tokens - start);
    auto qr = [&](std::size_t t) { return q.row(start + t); };
    auto kr = [&](std::size_t t) { return k.row(start + t); };
    auto vr = [&](std::size_t t) { return v.row(start + t); };
    auto betat = [&](std::size_t t) { return beta[(start + t) * gb_stride]; };

    // G[t] = sum_{s<=t} g[s]: cumulative log decay inside the chunk
    float acc = 0.0f;
    for (std::size_t t = 0; t < n; ++t) G[t] = acc += g[(start + t) * gb_stride];

    // T = (I + L)^-1 with L[i][j] = beta_i (k_i . k_j) exp(G_i - G_j) for j < i, by forward substitution:
    // T[i][j] = A[i][j] + sum_{j<m<i} A[i][m] T[m][j], A = -L, then add the identity.
    for (std::size_t t = 0; t < n; ++t)
      for (std::size_t i = 0; i < dk; ++i) kb[t * dk + i] = kr(t)[i] * betat(t);
    for (std::size_t i = 0; i < n; ++i) {
      float* Ti = T.data() + i * C;
      for (std::size_t j = 0; j < i; ++j) {
        float dot = 0.0f;
        for (std::size_t f = 0; f < dk; ++f) dot += kb[i * dk + f] * kr(j)[f];
        Ti[j] = -dot * std::exp(G[i] - G[j]);
      }
      for (std::size_t j = 0; j < i; ++j) {
        float sum = Ti[j];
        for (std::size_t m = j + 1; m < i; ++m) sum += Ti[m] * T[m * C + j];
        // Row i's entries left of j are final; entries right of j are still the raw A values it needs.
        Ti[j] = sum;
      }
      Ti[i] = 1.0f;
    }
    // U = T (beta v);  W = T (beta k exp(G))
    for (std::size_t i = 0; i < n; ++i) {
      float* Ui = U.data() + i * dv;
      float* Wi = W.data() + i * dk;
      for (std::size_t j = 0; j < dv; ++j) Ui[j] = 0.0f;
      for (std::size_t f = 0; f < dk; ++f) Wi[f] = 0.0f;
      for (std::size_t m = 0; m <= i; ++m) {
        const float tim = T[i * C + m];
        const float vb = tim * betat(m);
        const float* vm = vr(m);
        for (std::size_t j = 0; j < dv; ++j) Ui[j] += vb * vm[j];
        const float kw = tim * std::exp(G[m]);
        const float* kbm = kb.data() + m * dk;
        for (std::size_t f = 0; f < dk; ++f) Wi[f] += kw * kbm[f];
      }
    }
    // v_new = U - W S  (the values still to be written once the state's current recall is removed)
    for (std::size_t i = 0; i < n; ++i) {
      float* vn = vnew.data() + i * dv;
      for (std::size_t j = 0; j < dv; ++j) vn[j] = U[i * dv + j];
      for (std::size_t f = 0; f < dk; ++f) {
        const float w = W[i * dk + f];
        const float* sf = state + f * dv;
        for (std::size_t j = 0; j < dv; ++j) vn[j] -= w * sf[j];
      }
    }
    // out_i = exp(G_i) q_i^T S + sum_{j<=i} (q_i . k_j) exp(G_i - G_j) v_new_j
    for (std::size_t i = 0; i < n; ++i) {
      float* oi = out + (start + i) * out_stride;
      const float* qi = qr(i);
      const float eg = std::exp(G[i]);
      for (std::size_t j = 0; j < dv; ++j) oi[j] = 0.0f;
      for (std::size_t f = 0; f < dk; ++f) {
        const float qf = qi[f] * eg;
        const float* sf = state + f * dv;
        for (std::size_t j = 0; j < dv; ++j) oi[j] += qf * sf[j];
      }
      for (std::size_t m = 0; m <= i; ++m) {
        float dot = 0.0f;
        const float* km = kr(m);
        for (std::size_t f = 0; f < dk; ++f) dot += qi[f] * km[f];
        const float a = dot * std::exp(G[i] - G[m]);
        const float* vn = vnew.data() + m * dv;
        for (std::size_t j = 0; j < dv; ++j) oi[j] += a * vn[j];
      }
    }
    // S <- exp(G_last) S + sum_j exp(G_last - G_j) k_j v_new_j^T
    const float last = G[n - 1];
    const float e_last = std::exp(last);
    for (std::size_t f = 0; f < dk; ++f) {
      float* sf = state + f * dv;
      for (std::size_t j = 0; j < dv; ++j) sf[j] *= e_last;
    }
    for (std::size_t m = 0; m < n; ++m) {
      const float w = std::exp(last - G[m]);
      const float* km = kr(m);
      const float* vn = vnew.data() + m * dv;
      for (std::size_t f = 0; f < dk; ++f) {
        const float kf = km[f] * w;
        float* sf = state + f * dv;
        for (std::size_t j = 0; j < dv; ++j) sf[j] += kf * vn[j];
      }
    }
  }
}

}  // namespace qk::engine
