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
#include "util/huge_pages.hpp"

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
  using Growing = std::vector<float, HugePageAllocator<float>>;  // copied whole each time it outgrows its capacity
  std::vector<float> conv;       // short-convolution history: [kernel-1, channels]
  std::vector<float> recurrent;  // recurrent state, e.g. Gated DeltaNet's [value heads, dk, dv]
  Growing keys;                  // [tokens, kv_width]
  Growing values;                // [tokens, kv_width]
  std::size_t kv_width = 0;      // floats a position adds to keys and to values; 0 where the layer keeps none
};

struct SequenceState {
  std::size_t position = 0;  // tokens consumed so far
  std::vector<LayerCache> layers;
  std::size_t bytes() const;  // memory held by the caches
  // Room for this many positions in every KV cache, so that they do not grow (a copy of the whole cache into
  // fresh memory, 25 ms after a 2048-token prompt of bench/llama's MoE) while a sequence decodes. Only
  // address space until positions are written: the pages are faulted in as the cache fills.
  void reserve_positions(std::size_t positions);
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

class CausalLM {
 public:
  virtual ~CausalLM() = default;
  virtual const ModelInfo& info() const = 0;
  virtual SequenceState new_sequence() const = 0;
  // Feeds each segment's tokens after its state's history and advances the states. Returns logits
  // [segments, vocab] (LastToken) or [sum of tokens, vocab] (AllTokens), rows in segment order.
  virtual std::vector<float> forward(std::span<const Segment> batch, LogitsFor which) = 0;

  // What heads/ and sweep/ reach into (weights in memory, attention probes, a forward from a chosen
  // layer) is not part of this interface: engine/model_hooks.hpp.
};

// Builds the model for config["model_type"]; Error(Unsupported) names the type and the supported ones.
std::unique_ptr<CausalLM> make_causal_lm(const nlohmann::json& config, const WeightSource& weights);
// Opens a Hugging Face directory (config.json, safetensors, optional generation_config.json).
std::unique_ptr<CausalLM> load_causal_lm(const std::filesystem::path& dir);
std::vector<std::string> supported_model_types();

}  // namespace qk::engine
