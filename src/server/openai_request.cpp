#include "server/openai_request.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

namespace qk::server {
namespace {

[[noreturn]] void bad(const std::string& message, const std::string& param = {}) {
  throw HttpError(400, message, "invalid_request_error", param);
}

bool given(const nlohmann::json& body, const char* key) { return body.contains(key) && !body[key].is_null(); }

double number_field(const nlohmann::json& body, const char* key, double fallback, double lo, double hi) {
  if (!given(body, key)) return fallback;
  if (!body[key].is_number()) bad(std::string("'") + key + "' must be a number", key);
  const double v = body[key].get<double>();
  if (!std::isfinite(v) || v < lo || v > hi)
    bad(std::string("'") + key + "' must be between " + nlohmann::json(lo).dump() + " and " + nlohmann::json(hi).dump(), key);
  return v;
}

std::int64_t integer_field(const nlohmann::json& body, const char* key, std::int64_t fallback, std::int64_t lo,
                           std::int64_t hi) {
  if (!given(body, key)) return fallback;
  if (!body[key].is_number_integer()) bad(std::string("'") + key + "' must be an integer", key);
  const auto v = body[key].get<std::int64_t>();
  if (v < lo || v > hi) bad(std::string("'") + key + "' must be between " + std::to_string(lo) + " and " + std::to_string(hi), key);
  return v;
}

bool bool_field(const nlohmann::json& body, const char* key, bool fallback) {
  if (!given(body, key)) return fallback;
  if (!body[key].is_boolean()) bad(std::string("'") + key + "' must be a boolean", key);
  return body[key].get<bool>();
}

[[noreturn]] void unsupported(const std::string& key, const std::string& why) {
  bad("'" + key + "' is not supported by this server: " + why, key);
}

// Fields that are implemented, per endpoint. Accepted without effect: "user" (an end-user id for abuse
// monitoring) and "metadata" (tags for stored completions; nothing is stored).
const std::set<std::string> kCommonFields = {
    "model", "max_tokens", "temperature", "top_p", "top_k", "seed", "n", "stop", "stream", "stream_options",
    "frequency_penalty", "presence_penalty", "logprobs", "user", "logit_bias", "ignore_eos"};
const std::set<std::string> kCompletionFields = {"prompt", "echo", "best_of", "suffix"};
const std::set<std::string> kChatFields = {"messages", "max_completion_tokens", "top_logprobs", "add_generation_prompt",
                                           "continue_final_message", "chat_template_kwargs", "response_format", "tools",
                                           "tool_choice", "parallel_tool_calls", "store", "metadata", "modalities"};

// Fields accepted only in the value that asks for nothing beyond plain text generation.
void check_neutral_values(const nlohmann::json& body, Endpoint endpoint) {
  if (given(body, "logit_bias") && !(body["logit_bias"].is_object() && body["logit_bias"].empty()))
    unsupported("logit_bias", "token biases are not implemented");
  if (endpoint == Endpoint::Completions) {
    if (given(body, "suffix") && !(body["suffix"].is_string() && body["suffix"].get<std::string>().empty()))
      unsupported("suffix", "insertion (fill in the middle) is not implemented");
    return;
  }
  if (given(body, "response_format")) {
    const auto& f = body["response_format"];
    if (!f.is_object() || f.value("type", nlohmann::json()) != "text")
      unsupported("response_format", "only {\"type\": \"text\"}; JSON mode and JSON schemas are not implemented");
  }
  if (given(body, "tools") && !(body["tools"].is_array() && body["tools"].empty()))
    unsupported("tools", "tool calling is not implemented");
  if (given(body, "tool_choice") && body["tool_choice"] != "none")
    unsupported("tool_choice", "tool calling is not implemented (only \"none\")");
  if (given(body, "store") && body["store"] != false) unsupported("store", "completions are not stored");
  if (given(body, "metadata") && !body["metadata"].is_object()) bad("'metadata' must be an object", "metadata");
  if (given(body, "parallel_tool_calls") && !body["parallel_tool_calls"].is_boolean())
    bad("'parallel_tool_calls' must be a boolean", "parallel_tool_calls");
  if (given(body, "modalities") && body["modalities"] != nlohmann::json::array({"text"}))
    unsupported("modalities", "only [\"text\"]");
}

}  // namespace

nlohmann::json error_body(const std::string& message, const std::string& type, const std::string& param,
                          const std::string& code) {
  return {{"error",
           {{"message", message},
            {"type", type},
            {"param", param.empty() ? nlohmann::json() : nlohmann::json(param)},
            {"code", code.empty() ? nlohmann::json() : nlohmann::json(code)}}}};
}

std::uint64_t choice_seed(std::uint64_t seed, std::size_t index) {
  if (index == 0) return seed;
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (index + 1);  // splitmix64 finalizer of seed and index
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

CommonFields parse_common(const nlohmann::json& body, Endpoint endpoint, const std::string& served_model,
                          std::size_t default_max_tokens) {
  if (!body.is_object()) bad("the request body must be a JSON object");
  const auto& own = endpoint == Endpoint::Completions ? kCompletionFields : kChatFields;
  for (const auto& [key, value] : body.items())
    if (!kCommonFields.count(key) && !own.count(key))
      bad("'" + key + "' is not supported by this server (unknown or unimplemented field)", key);
  check_neutral_values(body, endpoint);

  CommonFields f;
  if (given(body, "model")) {
    if (!body["model"].is_string()) bad("'model' must be a string", "model");
    f.model = body["model"];
    if (f.model != served_model)
      throw HttpError(404, "The model '" + f.model + "' does not exist (this server serves '" + served_model + "')",
                      "invalid_request_error", "model", "model_not_found");
  } else {
    f.model = served_model;
  }
  auto& o = f.request.options;
  o.max_tokens = static_cast<std::size_t>(integer_field(body, "max_tokens", static_cast<std::int64_t>(default_max_tokens), 0, 1 << 20));
  if (given(body, "max_completion_tokens"))
    o.max_tokens = static_cast<std::size_t>(integer_field(body, "max_completion_tokens", 0, 0, 1 << 20));
  o.temperature = static_cast<float>(number_field(body, "temperature", 1.0, 0.0, 100.0));
  o.top_p = static_cast<float>(number_field(body, "top_p", 1.0, 1e-9, 1.0));
  const auto top_k = integer_field(body, "top_k", 0, -1, 1 << 30);
  o.top_k = top_k < 0 ? 0 : static_cast<std::size_t>(top_k);  // vLLM: -1 = no limit
  o.frequency_penalty = static_cast<float>(number_field(body, "frequency_penalty", 0.0, -2.0, 2.0));
  o.presence_penalty = static_cast<float>(number_field(body, "presence_penalty", 0.0, -2.0, 2.0));
  // No seed: a fresh one per request, as the OpenAI API samples differently each time.
  o.seed = static_cast<std::uint64_t>(integer_field(body, "seed", static_cast<std::int64_t>(std::random_device{}() >> 1),
                                                    INT64_MIN, INT64_MAX));
  f.n = static_cast<std::size_t>(integer_field(body, "n", 1, 1, 16));
  if (endpoint == Endpoint::Completions && given(body, "best_of") &&
      integer_field(body, "best_of", 1, 1, 16) != static_cast<std::int64_t>(f.n))
    unsupported("best_of", "only best_of equal to n (no ranking of extra candidates)");

  f.request.ignore_eos = bool_field(body, "ignore_eos", false);
  f.stream = bool_field(body, "stream", false);
  if (given(body, "stream_options")) {
    const auto& so = body["stream_options"];
    if (!f.stream) bad("'stream_options' is only allowed with \"stream\": true", "stream_options");
    if (!so.is_object()) bad("'stream_options' must be an object", "stream_options");
    for (const auto& [key, value] : so.items())
      if (key != "include_usage") bad("'stream_options." + key + "' is not supported by this server", "stream_options");
    f.include_usage = bool_field(so, "include_usage", false);
  }

  if (endpoint == Endpoint::Completions) {
    // "logprobs": k -> the sampled token's logprob and the k most likely alternatives per token.
    if (given(body, "logprobs")) {
      f.logprobs = true;
      f.top_logprobs = static_cast<std::size_t>(integer_field(body, "logprobs", 0, 0, engine::kMaxTopLogprobs));
    }
    f.echo = bool_field(body, "echo", false);
    if (f.echo && f.logprobs)
      unsupported("echo", "echo together with logprobs (the prompt's logprobs are not computed); echo alone works");
  } else {
    f.logprobs = bool_field(body, "logprobs", false);
    if (given(body, "top_logprobs")) {
      if (!f.logprobs) bad("'top_logprobs' needs \"logprobs\": true", "top_logprobs");
      f.top_logprobs = static_cast<std::size_t>(integer_field(body, "top_logprobs", 0, 0, engine::kMaxTopLogprobs));
    }
  }
  o.logprobs = f.logprobs;
  o.top_logprobs = f.top_logprobs;

  if (given(body, "stop")) {
    const auto& stop = body["stop"];
    if (stop.is_string()) {
      f.request.stop_strings.push_back(stop);
    } else if (stop.is_array()) {
      if (stop.size() > 16) bad("'stop' holds at most 16 strings", "stop");
      for (const auto& s : stop) {
        if (!s.is_string()) bad("'stop' must be a string or a list of strings", "stop");
        f.request.stop_strings.push_back(s);
      }
    } else {
      bad("'stop' must be a string or a list of strings", "stop");
    }
  }
  return f;
}

CompletionPrompt parse_completion_prompt(const nlohmann::json& body) {
  if (!body.contains("prompt")) bad("'prompt' is required", "prompt");
  const auto& p = body["prompt"];
  CompletionPrompt out;
  if (p.is_string()) {
    out.text = p;
  } else if (p.is_array() && p.size() == 1 && p[0].is_string()) {
    out.text = p[0];
  } else if (p.is_array() && !p.empty() && std::all_of(p.begin(), p.end(), [](const auto& x) { return x.is_number_integer(); })) {
    out.as_tokens = true;
    for (const auto& x : p) {
      const auto id = x.template get<std::int64_t>();
      if (id < 0 || id > INT32_MAX) bad("token id " + std::to_string(id) + " in 'prompt' is out of range", "prompt");
      out.tokens.push_back(static_cast<std::int32_t>(id));
    }
  } else {
    bad("'prompt' must be a string, a list of one string, or a list of token ids", "prompt");
  }
  if (!out.as_tokens && out.text.empty()) bad("'prompt' is empty", "prompt");
  return out;
}

ChatRequest parse_chat_request(const nlohmann::json& body) {
  if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty())
    bad("'messages' must be a non-empty list", "messages");
  ChatRequest r;
  r.raw_messages = body["messages"];
  for (const auto& m : body["messages"]) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      bad("each message needs a string 'role'", "messages");
    ChatMessage message{m["role"], ""};
    const auto& content = m.contains("content") ? m["content"] : nlohmann::json();
    if (content.is_string()) {
      message.content = content;
    } else if (content.is_array()) {
      for (const auto& part : content) {
        if (!part.is_object() || part.value("type", nlohmann::json()) != "text" || !part.contains("text") || !part["text"].is_string())
          bad("message content parts must be {\"type\": \"text\", \"text\": ...}", "messages");
        message.content += part["text"].get<std::string>();
      }
    } else if (!content.is_null()) {
      bad("message 'content' must be a string or a list of text parts", "messages");
    }
    r.messages.push_back(std::move(message));
  }
  r.continue_final_message = bool_field(body, "continue_final_message", false);
  r.add_generation_prompt = bool_field(body, "add_generation_prompt", !r.continue_final_message);
  if (r.continue_final_message && r.add_generation_prompt)
    bad("continue_final_message and add_generation_prompt cannot both be true", "continue_final_message");
  if (r.continue_final_message && r.messages.back().role != "assistant")
    bad("continue_final_message needs the last message to be from the assistant", "continue_final_message");
  if (given(body, "chat_template_kwargs")) {
    if (!body["chat_template_kwargs"].is_object()) bad("'chat_template_kwargs' must be an object", "chat_template_kwargs");
    r.template_kwargs = body["chat_template_kwargs"];
  }
  return r;
}

}  // namespace qk::server
