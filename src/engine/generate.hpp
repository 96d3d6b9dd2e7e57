// Text generation on a CausalLM: chunked prefill, then greedy or sampled decoding with stop tokens and a
// token budget. Several requests decode together: each step is one forward over all live sequences, so
// the weights are read once per step for the whole batch.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "engine/causal_lm.hpp"

namespace qk::engine {

struct SamplingOptions {
  std::size_t max_tokens = 64;
  float temperature = 0.0f;  // 0 = greedy (argmax, first index on ties, as torch.argmax)
  float top_p = 1.0f;        // nucleus sampling mass, (0, 1]
  std::size_t top_k = 0;     // 0 = no limit
  std::uint64_t seed = 0;
  std::vector<std::int32_t> stop_tokens;  // generation ends at the first of these (not part of the output)
  // Called with the tokens generated so far after each new one; true ends generation (finish "stop").
  // The server uses it for stop strings, which need the tokenizer.
  std::function<bool(const std::vector<std::int32_t>&)> stop_when;
};

struct GenerationRequest {
  std::vector<std::int32_t> prompt;  // at least one token
  SamplingOptions options;
};

enum class FinishReason { Stop, Length };
const char* finish_reason_name(FinishReason reason);  // "stop" / "length", as the OpenAI API

struct GenerationResult {
  std::vector<std::int32_t> tokens;
  FinishReason finish = FinishReason::Length;
  std::size_t prompt_tokens = 0;
};

struct GenerationLimits {
  std::size_t prefill_chunk = 1024;  // prompt tokens per forward: bounds activation memory
  std::size_t max_batch = 8;         // sequences decoded together
};

// Picks the next token from one row of logits. Exposed for tests.
std::int32_t pick_token(std::span<const float> logits, const SamplingOptions& options, std::uint64_t& rng_state);

std::vector<GenerationResult> generate_batch(CausalLM& model, std::span<const GenerationRequest> requests,
                                             const GenerationLimits& limits = {});
GenerationResult generate(CausalLM& model, const GenerationRequest& request);

}  // namespace qk::engine
