// Text generation on a CausalLM: chunked prefill, then greedy or sampled decoding with stop tokens and a
// token budget. Several requests decode together: each step is one forward over all live sequences, so
// the weights are read once per step for the whole batch.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <utility>
#include <vector>

#include "engine/causal_lm.hpp"

namespace qk::engine {

struct GenerationResult;

// The most alternatives a request may ask log-probabilities for (OpenAI's chat top_logprobs limit).
inline constexpr std::size_t kMaxTopLogprobs = 20;

struct SamplingOptions {
  std::size_t max_tokens = 64;
  float temperature = 0.0f;  // 0 = greedy (argmax, first index on ties, as torch.argmax)
  float top_p = 1.0f;        // nucleus sampling mass, (0, 1]
  std::size_t top_k = 0;     // 0 = no limit
  std::uint64_t seed = 0;
  // OpenAI's penalties: logit[j] -= count[j] * frequency_penalty + (count[j] > 0) * presence_penalty,
  // count[j] = how often token j was generated so far (the prompt does not count). In [-2, 2].
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  // Record each generated token's log-probability and the top_logprobs most likely alternatives:
  // log_softmax of the model's raw logits, before penalties and temperature (vLLM's default).
  bool logprobs = false;
  std::size_t top_logprobs = 0;  // <= kMaxTopLogprobs
  std::vector<std::int32_t> stop_tokens;  // generation ends at the first of these (not part of the output)
  // Called on the decoding thread after each new token with everything generated so far; true ends
  // this sequence (finish "stop"). The server uses it for stop strings, streaming and cancellation.
  std::function<bool(const GenerationResult&)> on_token;
  // Called once when this sequence is finished, as soon as it is (the rest of its batch may go on).
  std::function<void(const GenerationResult&)> on_finish;
};

struct GenerationRequest {
  std::vector<std::int32_t> prompt;  // at least one token
  SamplingOptions options;
};

enum class FinishReason { Stop, Length };
const char* finish_reason_name(FinishReason reason);  // "stop" / "length", as the OpenAI API

struct TokenLogprob {
  float logprob = 0.0f;                               // of the generated token
  std::vector<std::pair<std::int32_t, float>> top;    // most likely tokens first, with their logprobs
};

struct GenerationResult {
  std::vector<std::int32_t> tokens;
  std::vector<TokenLogprob> logprobs;  // one per token when options.logprobs
  FinishReason finish = FinishReason::Length;
  std::size_t prompt_tokens = 0;
};

struct GenerationLimits {
  std::size_t prefill_chunk = 1024;  // prompt tokens per forward: bounds activation memory
  std::size_t max_batch = 8;         // sequences decoded together (at least 1)
};

// Error(Usage) naming the option when a request cannot be generated (empty prompt, bad sampling values).
void validate_request(const GenerationRequest& request);

// Picks the next token from one row of logits. Exposed for tests.
std::int32_t pick_token(std::span<const float> logits, const SamplingOptions& options, std::uint64_t& rng_state);

// log_softmax(logits)[token] and the k largest entries (ties: lower id first).
TokenLogprob token_logprob(std::span<const float> logits, std::int32_t token, std::size_t k);

// Subtracts OpenAI's frequency/presence penalties for the tokens generated so far.
void apply_penalties(std::span<float> logits, std::span<const std::int32_t> generated, float frequency_penalty,
                     float presence_penalty);

// Continuous batching: before every decode step, `admit(free places)` hands over requests to start
// (at most that many; they must stay alive until their on_finish); they are prefilled and join the
// sequences being decoded. Returns when nothing is live and admit has nothing. Results come only
// through each request's on_finish.
using AdmitRequests = std::function<std::vector<const GenerationRequest*>(std::size_t free_places)>;
void generate_continuous(CausalLM& model, const AdmitRequests& admit, const GenerationLimits& limits = {});

// The given requests, max_batch at a time (a finished one's place goes to the next): results in order.
std::vector<GenerationResult> generate_batch(CausalLM& model, std::span<const GenerationRequest> requests,
                                             const GenerationLimits& limits = {});
GenerationResult generate(CausalLM& model, const GenerationRequest& request);

}  // namespace qk::engine
