// The engine's model interface: a decoder-only language model that advances per-sequence state.
// One family = one implementation file (qwen3_next.cpp, ...) registered in family_registry.cpp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/weights.hpp"

namespace qk::engine {

struct ModelInfo {
  std::string model_type;
  std::size_t vocab_size = 0;
  std::size_t hidden_size = 0;
  std::size_t num_layers = 0;
  std::size_t max_position_embeddings = 0;
  std::vector<std::int32_t> eos_token_ids;  // from config.json / generation_config.json
  std::uint64_t weight_bytes = 0;           // bytes of the weights the engine reads (bf16 ones as bf16)
  std::uint64_t active_weight_bytes_per_token = 0;  // bytes one decode step reads (routed experts: top-k)
};

// The per-layer memory of one sequence. Recurrent layers keep a fixed-size state (constant in context
// length); attention layers keep their keys and values.
struct LayerCache {
  std::vector<float> conv;       // short-convolution history: [kernel-1, channels]
  std::vector<float> recurrent;  // recurrent state, e.g. Gated DeltaNet's [value heads, dk, dv]
  std::vector<float> keys;       // [tokens, kv_heads * head_dim]
  std::vector<float> values;     // [tokens, kv_heads * head_dim]
};

struct SequenceState {
  std::size_t position = 0;  // tokens consumed so far
  std::vector<LayerCache> layers;
  std::size_t bytes() const;  // memory held by the caches
};

// A run of new tokens for one sequence; a forward call takes several (batching across sequences).
struct Segment {
  SequenceState* state;
  std::span<const std::int32_t> tokens;
};

// How a batched forward maps rows of the activation matrix to sequences: the rows
// [first_row, first_row + rows) belong to one sequence whose earlier tokens are in `cache`
// and whose first new token sits at absolute position `position`.
struct SegmentRows {
  LayerCache* cache;
  std::size_t first_row;
  std::size_t rows;
  std::size_t position;
};

using BatchRows = std::vector<SegmentRows>;

enum class LogitsFor { LastToken, AllTokens };

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

class CausalLM {
 public:
  virtual ~CausalLM() = default;
  virtual const ModelInfo& info() const = 0;
  virtual SequenceState new_sequence() const = 0;
  // Feeds each segment's tokens after its state's history and advances the states. Returns logits
  // [segments, vocab] (LastToken) or [sum of tokens, vocab] (AllTokens), rows in segment order.
  virtual std::vector<float> forward(std::span<const Segment> batch, LogitsFor which) = 0;

  // In-memory surgery (src/heads/candidate.hpp): a weight the model holds exactly as the checkpoint
  // tensor `name` (fp32, row-major, same shape), writable; empty when the model does not hold that
  // tensor as-is. Changing it changes what the next forward computes, as loading an edited checkpoint
  // would, once tensor_written(name) has been called (a model that keeps a value computed from a
  // tensor, such as -exp(A_log), recomputes it there).
  virtual std::span<float> mutable_tensor(std::string_view) { return {}; }
  virtual void tensor_written(std::string_view) {}
  // Attention probabilities of chosen positions (AttentionProbe above); nullptr turns it off. Models
  // without softmax attention layers record nothing.
  virtual void set_attention_probe(AttentionProbe*) {}
  // Prefix reuse when many weight edits are evaluated on the same tokens (src/heads): with a capture
  // set, forward appends the residual stream entering each layer that is a key of the map (rows in
  // batch order); forward_from then runs only layers first_layer.. from such a residual, advancing the
  // caches of those layers and the positions. Layers before first_layer are neither run nor read, so
  // it computes what forward would whenever their weights are those the residual was captured with.
  virtual void set_residual_capture(std::map<std::size_t, std::vector<float>>*) {
    fail_unsupported("residual capture");
  }
  virtual std::vector<float> forward_from(std::span<const Segment>, std::size_t, std::span<const float>, LogitsFor) {
    fail_unsupported("forward_from");
  }

 protected:
  [[noreturn]] void fail_unsupported(const char* what) const;
};

// Builds the model for config["model_type"]; Error(Unsupported) names the type and the supported ones.
std::unique_ptr<CausalLM> make_causal_lm(const nlohmann::json& config, const WeightSource& weights);
// Opens a Hugging Face directory (config.json, safetensors, optional generation_config.json).
std::unique_ptr<CausalLM> load_causal_lm(const std::filesystem::path& dir);
std::vector<std::string> supported_model_types();

}  // namespace qk::engine
