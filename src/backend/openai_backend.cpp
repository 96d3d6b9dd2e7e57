#include "backend/openai_backend.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "util/error.hpp"
#include "util/json.hpp"

namespace qk::backend {

ApiKind parse_api_kind(const std::string& name) {
  if (name == "completions") return ApiKind::Completions;
  if (name == "chat") return ApiKind::Chat;
  fail(ErrorKind::Usage, "--api must be completions or chat, not '{}'", name);
}

ChatPrefix parse_chat_prefix(const std::string& name) {
  if (name == "assistant") return ChatPrefix::Assistant;
  if (name == "user") return ChatPrefix::User;
  if (name == "none") return ChatPrefix::None;
  fail(ErrorKind::Usage, "--chat-prefix must be assistant, user or none, not '{}'", name);
}

namespace {

struct Endpoint {
  std::string origin;  // scheme://host[:port]
  std::string path;    // /v1 prefix, no trailing slash
};

Endpoint split_url(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) fail(ErrorKind::Usage, "--server '{}' needs a scheme (http://...)", url);
  const auto path_start = url.find('/', scheme_end + 3);
  Endpoint endpoint{url.substr(0, path_start), path_start == std::string::npos ? "" : url.substr(path_start)};
  if (!endpoint.path.ends_with("/v1")) endpoint.path += "/v1";
  return endpoint;
}

// A usage count as the server reports it; -1 (unknown) when absent or not a count (a string, a
// float, a number beyond int), since usage is informational and must not stop a run.
int token_count(const nlohmann::json& usage, const char* key) {
  const auto it = usage.find(key);
  if (it == usage.end() || !it->is_number_integer()) return -1;
  const auto n = it->get<std::int64_t>();
  return n >= 0 && n <= std::numeric_limits<int>::max() ? static_cast<int>(n) : -1;
}

class OpenAiBackend final : public Backend {
 public:
  explicit OpenAiBackend(OpenAiOptions options) : options_(std::move(options)), endpoint_(split_url(options_.base_url)) {}

  std::vector<Completion> generate(const std::vector<Prompt>& prompts) override {
    std::vector<Completion> out;
    for (const auto& prompt : prompts) out.push_back(complete(prompt));
    return out;
  }

  std::string describe() const override {
    return fmt::format("{}{}/{} model {}", endpoint_.origin, endpoint_.path,
                       options_.api == ApiKind::Chat ? "chat/completions" : "completions", options_.model);
  }

 private:
  nlohmann::json request_body(const Prompt& prompt) const {
    nlohmann::json body{{"model", options_.model}, {"max_tokens", prompt.max_tokens},
                        {"temperature", prompt.temperature}, {"top_p", 1.0}, {"stream", false}};
    if (!prompt.stop.empty()) body["stop"] = prompt.stop;
    if (prompt.seed >= 0) body["seed"] = prompt.seed;
    if (options_.api == ApiKind::Completions) {
      body["prompt"] = prompt.input + prompt.answer_prefix;
      return body;
    }
    nlohmann::json messages = nlohmann::json::array();
    for (const auto& turn : prompt.examples) messages.push_back({{"role", turn.role}, {"content", turn.content}});
    std::string user = prompt.input;
    if (options_.chat_prefix == ChatPrefix::User) user += prompt.answer_prefix;
    messages.push_back({{"role", "user"}, {"content", user}});
    if (options_.chat_prefix == ChatPrefix::Assistant && !prompt.answer_prefix.empty()) {
      messages.push_back({{"role", "assistant"}, {"content", prompt.answer_prefix}});
      body["continue_final_message"] = true;  // vLLM / SGLang: continue the assistant turn
      body["add_generation_prompt"] = false;
    }
    body["messages"] = std::move(messages);
    return body;
  }

  Completion parse_reply(const std::string& text) const {
    nlohmann::json reply;
    try {
      reply = parse_json(text, "reply");
    } catch (const Error&) {
      fail(ErrorKind::Network, "{}: malformed reply (not JSON): {}", describe(), text.substr(0, 200));
    }
    const auto* choices = reply.is_object() && reply.contains("choices") ? &reply["choices"] : nullptr;
    if (!choices || !choices->is_array() || choices->empty() || !(*choices)[0].is_object())
      fail(ErrorKind::Network, "{}: malformed reply (no choices): {}", describe(), text.substr(0, 200));
    const auto& choice = (*choices)[0];
    Completion completion;
    if (options_.api == ApiKind::Completions && choice.contains("text") && choice["text"].is_string()) {
      completion.text = choice["text"].get<std::string>();
    } else if (options_.api == ApiKind::Chat && choice.contains("message") && choice["message"].is_object() &&
               choice["message"].contains("content") && choice["message"]["content"].is_string()) {
      completion.text = choice["message"]["content"].get<std::string>();
    } else {
      fail(ErrorKind::Network, "{}: malformed reply (choice without {}): {}", describe(),
           options_.api == ApiKind::Chat ? "message.content" : "text", text.substr(0, 200));
    }
    if (choice.contains("finish_reason") && choice["finish_reason"].is_string())
      completion.finish_reason = choice["finish_reason"].get<std::string>();
    if (reply.contains("usage") && reply["usage"].is_object()) {
      completion.prompt_tokens = token_count(reply["usage"], "prompt_tokens");
      completion.completion_tokens = token_count(reply["usage"], "completion_tokens");
    }
    return completion;
  }

  Completion complete(const Prompt& prompt) const {
    const std::string path =
        endpoint_.path + (options_.api == ApiKind::Chat ? "/chat/completions" : "/completions");
    const std::string body = request_body(prompt).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    httplib::Headers headers;
    if (!options_.api_key.empty()) headers.emplace("Authorization", "Bearer " + options_.api_key);
    std::string last_problem;
    double wait = options_.backoff_s;
    for (int attempt = 0; attempt <= options_.retries; ++attempt) {
      if (attempt > 0) {
        std::this_thread::sleep_for(std::chrono::duration<double>(wait));
        wait = std::min(wait * 2, 60.0);
      }
      httplib::Client client(endpoint_.origin);
      if (!client.is_valid()) fail(ErrorKind::Usage, "cannot use server URL {} (https needs OpenSSL support)", endpoint_.origin);
      const auto seconds = [](double s) { return std::chrono::milliseconds(static_cast<long long>(s * 1000)); };
      client.set_connection_timeout(seconds(options_.connect_timeout_s));
      client.set_read_timeout(seconds(options_.read_timeout_s));
      client.set_write_timeout(seconds(options_.read_timeout_s));
      auto result = client.Post(path, headers, body, "application/json");
      if (!result) {
        last_problem = fmt::format("no reply ({})", httplib::to_string(result.error()));
        continue;  // connection refused, reset or timed out: the server may come back
      }
      const int status = result->status;
      if (status == 200) return parse_reply(result->body);
      last_problem = fmt::format("HTTP {}: {}", status, result->body.substr(0, 200));
      if (status == 429 || status >= 500) {
        if (result->has_header("Retry-After")) {
          try {  // delay-seconds; an HTTP date or junk keeps our own backoff
            wait = std::clamp(parse_number(result->get_header_value("Retry-After"), "Retry-After"), 0.0, 60.0);
          } catch (const Error&) {
          }
        }
        continue;
      }
      fail(ErrorKind::Network, "{}{} refused the request: {}", endpoint_.origin, path, last_problem);
    }
    fail(ErrorKind::Network, "{}{} failed after {} attempts: {}", endpoint_.origin, path, options_.retries + 1, last_problem);
  }

  OpenAiOptions options_;
  Endpoint endpoint_;
};

}  // namespace

std::unique_ptr<Backend> make_openai_backend(OpenAiOptions options) {
  if (options.model.empty()) fail(ErrorKind::Usage, "--model is required for an OpenAI-compatible server");
  return std::make_unique<OpenAiBackend>(std::move(options));
}

}  // namespace qk::backend
