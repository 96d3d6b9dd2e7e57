// A read-only look into the full-attention layers: the attention probabilities of chosen query
// positions, head by head, for measuring which heads retrieve (src/heads). Recomputed from the
// layer's queries and KV cache after the attention kernel ran, so the kernel and the hot path are
// untouched: with no probe set, a layer pays one null-pointer test per forward call.
#pragma once
#include <cstddef>
#include <span>

namespace qk::engine {

class AttentionProbe {
 public:
  virtual ~AttentionProbe() = default;
  // True for the absolute positions (of segment `segment` of the batch) whose attention to record.
  virtual bool wants(std::size_t segment, std::size_t position) const = 0;
  // softmax(scale q k^T) of query head `head` of full-attention layer `layer` at `position` over the
  // keys 0..position (probabilities.size() == position + 1). Called on the forward's thread.
  virtual void record(std::size_t layer, std::size_t segment, std::size_t position, std::size_t head,
                      std::span<const float> probabilities) = 0;
};

}  // namespace qk::engine
