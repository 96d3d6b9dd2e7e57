// Parsing and validation of OpenAI-style request bodies into engine requests. Every rejection is an
// HttpError carrying the status and a message naming the field, so the server can answer it as JSON.
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/chat_template.hpp"
#include "server/engine_service.hpp"

namespace qk::server {

struct HttpError : std::runtime_error {
  HttpError(int status, const std::string& message, std::string type = "invalid_request_error")
      : std::runtime_error(message), status(status), type(std::move(type)) {}
  int status;
  std::string type;
};

// Fields shared by /v1/completions and /v1/chat/completions: model, max_tokens, temperature, top_p,
// top_k, seed, stop, n (1 only), stream (false only).
struct CommonFields {
  std::string model;
  TextRequest request;  // prompt left empty
};

CommonFields parse_common(const nlohmann::json& body, const std::string& served_model, std::size_t default_max_tokens);

// /v1/completions "prompt": a string, a list of one string, or a list of token ids.
struct CompletionPrompt {
  std::string text;                  // empty when given as token ids
  std::vector<std::int32_t> tokens;  // filled when given as ids
  bool as_tokens = false;
};
CompletionPrompt parse_completion_prompt(const nlohmann::json& body);

// /v1/chat/completions "messages" (content as a string or a list of {"type": "text", "text": ...} parts)
// plus add_generation_prompt (default true) and continue_final_message (default false).
struct ChatRequest {
  std::vector<ChatMessage> messages;
  bool add_generation_prompt = true;
  bool continue_final_message = false;
};
ChatRequest parse_chat_request(const nlohmann::json& body);

nlohmann::json error_body(const std::string& message, const std::string& type);

}  // namespace qk::server
