// Causal softmax attention of new queries over a KV cache, with grouped-query heads.
#pragma once
#include <cstddef>

namespace qk::engine {

struct AttentionShape {
  std::size_t heads;     // query heads
  std::size_t kv_heads;  // key/value heads; query head h reads kv head h / (heads / kv_heads)
  std::size_t head_dim;
  float scale;           // logits = scale * q . k  (head_dim^-0.5 in Qwen3-Next)
};

// q:    [n, heads * head_dim], the queries of positions past .. past + n - 1
// keys, values: [past + n, kv_heads * head_dim], the whole cache including the n new tokens
// out:  [n, heads * head_dim]
// Query i sees keys 0 .. past + i. Heads and blocks of 128 queries run in parallel on the engine's pool,
// each block as two sgemm around a row softmax (one query: two gemv).
void causal_attention(const AttentionShape& shape, const float* q, std::size_t n, const float* keys,
                      const float* values, std::size_t past, float* out);

// The probabilities one query row of head `head` puts on keys 0 .. visible - 1 (softmax(scale q K^T)),
// as causal_attention computes them; for probes, off the hot path. q: [head_dim] of that head.
void attention_probabilities(const AttentionShape& shape, const float* q, std::size_t head, const float* keys,
                             std::size_t visible, float* probabilities);

}  // namespace qk::engine
