#include "server/openai_request.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace qk::server {
namespace {

[[noreturn]] void bad(const std::string& message) { throw HttpError(400, message); }

double number_field(const nlohmann::json& body, const char* key, double fallback, double lo, double hi) {
  if (!body.contains(key) || body[key].is_null()) return fallback;
  if (!body[key].is_number()) bad(std::string("'") + key + "' must be a number");
  const double v = body[key].get<double>();
  if (!std::isfinite(v) || v < lo || v > hi)
    bad(std::string("'") + key + "' must be between " + nlohmann::json(lo).dump() + " and " + nlohmann::json(hi).dump());
  return v;
}

std::int64_t integer_field(const nlohmann::json& body, const char* key, std::int64_t fallback, std::int64_t lo,
                           std::int64_t hi) {
  if (!body.contains(key) || body[key].is_null()) return fallback;
  if (!body[key].is_number_integer()) bad(std::string("'") + key + "' must be an integer");
  const auto v = body[key].get<std::int64_t>();
  if (v < lo || v > hi) bad(std::string("'") + key + "' must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  return v;
}

}  // namespace

nlohmann::json error_body(const std::string& message, const std::string& type) {
  return {{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}}}};
}

CommonFields parse_common(const nlohmann::json& body, const std::string& served_model, std::size_t default_max_tokens) {
  if (!body.is_object()) bad("the request body must be a JSON object");
  CommonFields f;
  if (body.contains("model") && !body["model"].is_null()) {
    if (!body["model"].is_string()) bad("'model' must be a string");
    f.model = body["model"];
    if (f.model != served_model)
      throw HttpError(404, "The model '" + f.model + "' does not exist (this server serves '" + served_model + "')",
                      "not_found_error");
  } else {
    f.model = served_model;
  }
  auto& o = f.request.options;
  o.max_tokens = static_cast<std::size_t>(integer_field(body, "max_tokens", static_cast<std::int64_t>(default_max_tokens), 0, 1 << 20));
  if (body.contains("max_completion_tokens"))
    o.max_tokens = static_cast<std::size_t>(integer_field(body, "max_completion_tokens", 0, 0, 1 << 20));
  o.temperature = static_cast<float>(number_field(body, "temperature", 1.0, 0.0, 100.0));
  o.top_p = static_cast<float>(number_field(body, "top_p", 1.0, 1e-9, 1.0));
  const auto top_k = integer_field(body, "top_k", 0, -1, 1 << 30);
  o.top_k = top_k < 0 ? 0 : static_cast<std::size_t>(top_k);  // vLLM: -1 = no limit
  // No seed: a fresh one per request, as the OpenAI API samples differently each time.
  o.seed = static_cast<std::uint64_t>(integer_field(body, "seed", static_cast<std::int64_t>(std::random_device{}() >> 1),
                                                    INT64_MIN, INT64_MAX));
  if (integer_field(body, "n", 1, 1, 1) != 1) bad("'n' must be 1");
  if (body.contains("stream") && !body["stream"].is_null()) {
    if (!body["stream"].is_boolean()) bad("'stream' must be a boolean");
    if (body["stream"].get<bool>()) bad("streaming is not supported by this server; send \"stream\": false");
  }
  if (body.contains("stop") && !body["stop"].is_null()) {
    const auto& stop = body["stop"];
    if (stop.is_string()) {
      f.request.stop_strings.push_back(stop);
    } else if (stop.is_array()) {
      if (stop.size() > 16) bad("'stop' holds at most 16 strings");
      for (const auto& s : stop) {
        if (!s.is_string()) bad("'stop' must be a string or a list of strings");
        f.request.stop_strings.push_back(s);
      }
    } else {
      bad("'stop' must be a string or a list of strings");
    }
  }
  return f;
}

CompletionPrompt parse_completion_prompt(const nlohmann::json& body) {
  if (!body.contains("prompt")) bad("'prompt' is required");
  const auto& p = body["prompt"];
  CompletionPrompt out;
  if (p.is_string()) {
    out.text = p;
  } else if (p.is_array() && p.size() == 1 && p[0].is_string()) {
    out.text = p[0];
  } else if (p.is_array() && !p.empty() && std::all_of(p.begin(), p.end(), [](const auto& x) { return x.is_number_integer(); })) {
    out.as_tokens = true;
    for (const auto& x : p) out.tokens.push_back(x.get<std::int32_t>());
  } else {
    bad("'prompt' must be a string, a list of one string, or a list of token ids");
  }
  if (!out.as_tokens && out.text.empty()) bad("'prompt' is empty");
  return out;
}

ChatRequest parse_chat_request(const nlohmann::json& body) {
  if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty())
    bad("'messages' must be a non-empty list");
  ChatRequest r;
  for (const auto& m : body["messages"]) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      bad("each message needs a string 'role'");
    ChatMessage message{m["role"], ""};
    const auto& content = m.contains("content") ? m["content"] : nlohmann::json();
    if (content.is_string()) {
      message.content = content;
    } else if (content.is_array()) {
      for (const auto& part : content) {
        if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
          bad("message content parts must be {\"type\": \"text\", \"text\": ...}");
        message.content += part["text"].get<std::string>();
      }
    } else if (!content.is_null()) {
      bad("message 'content' must be a string or a list of text parts");
    }
    r.messages.push_back(std::move(message));
  }
  for (const char* key : {"add_generation_prompt", "continue_final_message"})
    if (body.contains(key) && !body[key].is_boolean()) bad(std::string("'") + key + "' must be a boolean");
  r.continue_final_message = body.value("continue_final_message", false);
  r.add_generation_prompt = body.value("add_generation_prompt", !r.continue_final_message);
  if (r.continue_final_message && r.add_generation_prompt)
    bad("continue_final_message and add_generation_prompt cannot both be true");
  if (r.continue_final_message && r.messages.back().role != "assistant")
    bad("continue_final_message needs the last message to be from the assistant");
  return r;
}

}  // namespace qk::server
