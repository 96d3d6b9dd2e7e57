// OpenAI-compatible HTTP backend: POST /v1/completions (raw prompt: input + answer prefix) or
// /v1/chat/completions (the server applies the chat template). Greedy (temperature 0), timeouts,
// retries with exponential backoff on connection errors, 429 and 5xx; any other failure or a reply that
// is not a completion stops the run with an Error(Network) naming the server and what was wrong.
#pragma once
#include <memory>
#include <string>

#include "backend/backend.hpp"

namespace qk::backend {

enum class ApiKind { Completions, Chat };

// Where the answer prefix goes in chat mode: a final assistant message the server continues (vLLM and
// SGLang: continue_final_message), appended to the user message, or dropped.
enum class ChatPrefix { Assistant, User, None };

struct OpenAiOptions {
  std::string base_url = "http://127.0.0.1:8000";  // with or without a trailing /v1
  std::string model;
  ApiKind api = ApiKind::Completions;
  ChatPrefix chat_prefix = ChatPrefix::Assistant;
  std::string api_key;            // sent as "Authorization: Bearer"; empty: none
  double connect_timeout_s = 10;
  double read_timeout_s = 600;    // per request: a long prompt's prefill can be slow
  int retries = 5;                // attempts after the first
  double backoff_s = 1.0;         // first wait; doubles each retry, at most 60 s; Retry-After wins
};

std::unique_ptr<Backend> make_openai_backend(OpenAiOptions options);

ApiKind parse_api_kind(const std::string& name);        // completions | chat
ChatPrefix parse_chat_prefix(const std::string& name);  // assistant | user | none

}  // namespace qk::backend
