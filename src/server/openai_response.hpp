// The JSON the OpenAI API answers with, built from generation results: choices, logprobs objects and
// usage, for whole replies and for the chunks of a stream.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/generate.hpp"
#include "tokenizer/tokenizer.hpp"

namespace qk::server {

// The tokens of one reply (or one streamed piece) with their logprobs and character offsets.
struct TokenRun {
  std::span<const std::int32_t> tokens;
  std::span<const engine::TokenLogprob> logprobs;
  std::span<const std::size_t> offsets;  // characters from the start of the reply
};

// /v1/completions "logprobs": {tokens, token_logprobs, top_logprobs (the k alternatives and the sampled
// token, as a {token: logprob} map), text_offset (+ offset_shift, the echoed prompt's length)}.
nlohmann::json completion_logprobs(const Tokenizer& tokenizer, const TokenRun& run, std::size_t offset_shift);

// /v1/chat/completions "logprobs": {content: [{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}]}.
nlohmann::json chat_logprobs(const Tokenizer& tokenizer, const TokenRun& run);

nlohmann::json usage_json(std::size_t prompt_tokens, std::size_t completion_tokens);

// Serializes for the wire; any ill-formed UTF-8 left (a token's own bytes) becomes U+FFFD.
std::string dump_json(const nlohmann::json& body);

}  // namespace qk::server
