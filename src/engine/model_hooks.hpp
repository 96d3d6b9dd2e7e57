// What heads/ and sweep/ reach into a model for, beyond the core interface (causal_lm.hpp): its
// weights held in memory, writable (in-memory candidates), its attention probabilities (probes), and a
// forward that starts at a chosen layer (prefix reuse). A family offers them by implementing these
// interfaces beside CausalLM; PrefillReuse (prefill_reuse.hpp) passes EditableModel through to the
// model it wraps and drives that model's ResumableForward.
#pragma once
#include <cstddef>
#include <map>
#include <span>
#include <string_view>
#include <vector>

#include "engine/causal_lm.hpp"

namespace qk::engine {

// A read-only look into the full-attention layers: the attention probabilities of chosen query
// positions, head by head, for measuring which heads retrieve (src/heads). Recomputed from the
// layer's queries and KV cache after the attention kernel ran, so the kernel and the hot path are
// untouched: with no probe set, a layer pays one null-pointer test per forward call.
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

class EditableModel {
 public:
  virtual ~EditableModel() = default;
  // In-memory surgery (src/heads/candidate.hpp): a weight the model holds exactly as the checkpoint
  // tensor `name` (fp32, row-major, same shape), writable; empty when the model does not hold that
  // tensor as-is. Changing it changes what the next forward computes, as loading an edited checkpoint
  // would, once tensor_written(name) has been called (a model that keeps a value computed from a
  // tensor, such as -exp(A_log), recomputes it there).
  virtual std::span<float> mutable_tensor(std::string_view name) = 0;
  virtual void tensor_written(std::string_view name) = 0;
  // Attention probabilities of chosen positions (AttentionProbe above); nullptr turns it off. Models
  // without softmax attention layers record nothing.
  virtual void set_attention_probe(AttentionProbe* probe) = 0;
};

// Prefix reuse when many weight edits are evaluated on the same tokens (prefill_reuse.hpp): with a
// capture set, forward appends the residual stream entering each layer that is a key of the map (rows
// in batch order); forward_from then runs only layers first_layer.. from such a residual, advancing the
// caches of those layers and the positions. Layers before first_layer are neither run nor read, so it
// computes what forward would whenever their weights are those the residual was captured with.
class ResumableForward {
 public:
  virtual ~ResumableForward() = default;
  virtual void set_residual_capture(std::map<std::size_t, std::vector<float>>* capture) = 0;
  virtual std::vector<float> forward_from(std::span<const Segment> batch, std::size_t first_layer,
                                          std::span<const float> residual, LogitsFor which) = 0;
};

// The model's EditableModel / ResumableForward side; nullptr when its family offers none.
EditableModel* editable(CausalLM& model);
ResumableForward* resumable(CausalLM& model);

}  // namespace qk::engine
