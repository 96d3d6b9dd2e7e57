// Parsing and validation of OpenAI-style request bodies into engine requests. Every rejection is an
// HttpError carrying the status and a message naming the field, so the server can answer it as JSON.
// A field the server does not implement is never ignored: it is a 400 naming it (see docs/engine.md for
// the table of fields), except the few that change nothing here (user, ...), listed in the .cpp.
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine_service/engine_service.hpp"

namespace qk::server {

struct HttpError : std::runtime_error {
  HttpError(int status, const std::string& message, std::string type = "invalid_request_error",
            std::string param = {}, std::string code = {})
      : std::runtime_error(message), status(status), type(std::move(type)), param(std::move(param)),
        code(std::move(code)) {}
  int status;
  std::string type, param, code;
};

// A validated message of a chat request (role and its text), as the request parser checks them.
struct ChatMessage {
  std::string role;
  std::string content;
};

enum class Endpoint { Completions, ChatCompletions };

// The fields shared by /v1/completions and /v1/chat/completions, checked against the endpoint's list
// of fields (an unknown one is a 400 naming it).
struct CommonFields {
  std::string model;
  engine_service::TextRequest request;  // prompt left empty; options and stop strings filled
  std::size_t n = 1;    // choices, each its own sequence
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  bool logprobs = false;       // completions: "logprobs": k given; chat: "logprobs": true
  std::size_t top_logprobs = 0;
  bool echo = false;           // completions only
};

CommonFields parse_common(const nlohmann::json& body, Endpoint endpoint, const std::string& served_model,
                          std::size_t default_max_tokens);

// The seed of choice `index` of a request seeded with `seed`: choice 0 keeps it, the others get
// independent streams (so n choices sampled with one seed differ from each other, reproducibly).
std::uint64_t choice_seed(std::uint64_t seed, std::size_t index);

// /v1/completions "prompt": a string, a list of one string, or a list of token ids.
struct CompletionPrompt {
  std::string text;                  // empty when given as token ids
  std::vector<std::int32_t> tokens;  // filled when given as ids
  bool as_tokens = false;
};
CompletionPrompt parse_completion_prompt(const nlohmann::json& body);

// /v1/chat/completions "messages" (content as a string or a list of {"type": "text", "text": ...} parts)
// plus add_generation_prompt (default true), continue_final_message (default false) and
// chat_template_kwargs (vLLM's name: extra variables for the model's chat template, a JSON object).
struct ChatRequest {
  std::vector<ChatMessage> messages;
  nlohmann::json raw_messages;  // as sent (tool_calls, reasoning_content ...), for the chat template
  bool add_generation_prompt = true;
  bool continue_final_message = false;
  nlohmann::json template_kwargs = nlohmann::json::object();
};
ChatRequest parse_chat_request(const nlohmann::json& body);

nlohmann::json error_body(const std::string& message, const std::string& type, const std::string& param = {},
                          const std::string& code = {});

}  // namespace qk::server
