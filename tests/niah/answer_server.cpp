#include "answer_server.hpp"

#include <chrono>

#include <nlohmann/json.hpp>

namespace qk::niah::testing {

AnswerServer::AnswerServer() {
  server_.Post("/v1/completions", [this](const auto& req, auto& res) { handle(req, res, false); });
  server_.Post("/v1/chat/completions", [this](const auto& req, auto& res) { handle(req, res, true); });
  port_ = server_.bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

AnswerServer::~AnswerServer() {
  server_.stop();
  thread_.join();
}

std::vector<std::string> AnswerServer::answer_from_prompt(const std::string& prompt) {
  // The question names the keys: "... for KEY mentioned in the provided text?" (several: "a, b, and c").
  // Plain string search: std::regex overflows the stack on long prompts.
  const std::size_t question = prompt.rfind("\nWhat ");
  if (question == std::string::npos) return {};
  const std::size_t query_start = prompt.find(" for ", question) + 5;
  const std::size_t query_end = prompt.find(" mentioned in the provided text?", query_start);
  if (query_end == std::string::npos) return {};
  std::string query = prompt.substr(query_start, query_end - query_start);
  for (std::size_t at; (at = query.find(", and ")) != std::string::npos;) query.replace(at, 6, ", ");
  std::vector<std::string> values;
  std::size_t start = 0;
  while (start <= query.size()) {
    std::size_t end = query.find(", ", start);
    if (end == std::string::npos) end = query.size();
    const std::string key = query.substr(start, end - start);
    const std::string marker = " for " + key + " is: ";
    for (std::size_t at = prompt.find(marker); at != std::string::npos; at = prompt.find(marker, at + 1)) {
      const std::size_t value_start = at + marker.size();
      values.push_back(prompt.substr(value_start, prompt.find('.', value_start) - value_start));
    }
    start = end + 2;
  }
  return values;
}

void AnswerServer::handle(const httplib::Request& request, httplib::Response& response, bool chat) {
  ++requests_;
  const int now = ++in_flight_;
  for (int seen = max_in_flight_; now > seen && !max_in_flight_.compare_exchange_weak(seen, now);) {
  }
  struct Leave {
    std::atomic<int>& n;
    ~Leave() { --n; }
  } leave{in_flight_};

  const auto body = nlohmann::json::parse(request.body);
  const std::string model = body.at("model");
  std::string prompt;
  if (chat) {
    for (const auto& message : body.at("messages")) prompt += message.at("content").get<std::string>() + "\n";
  } else {
    prompt = body.at("prompt");
  }
  if (model == "forbidden") {
    response.status = 400;
    response.set_content(R"({"error":"bad request"})", "application/json");
    return;
  }
  if (model == "needs-key" && request.get_header_value("Authorization") != "Bearer sesame") {
    response.status = 401;
    response.set_content(R"({"error":"no key"})", "application/json");
    return;
  }
  if (model == "flaky") {
    int attempt;
    {
      std::lock_guard lock(mutex_);
      attempt = attempts_by_prompt_[prompt]++;
    }
    if (attempt < 2) {
      response.status = attempt == 0 ? 503 : 429;
      response.set_header("Retry-After", "0");
      response.set_content(R"({"error":"busy"})", "application/json");
      return;
    }
  }
  if (model == "malformed" && good_replies_ >= 3) {
    response.set_content("<html>upstream proxy error</html>", "text/html");
    return;
  }
  if (model == "slow") std::this_thread::sleep_for(std::chrono::milliseconds(300));

  auto values = answer_from_prompt(prompt);
  if (model == "half" && values.size() > 1) values.resize(1);
  std::string text;
  for (std::size_t i = 0; i < values.size(); ++i) text += (i ? ", " : " ") + values[i];
  text += ".";
  nlohmann::json choice{{"index", 0}, {"finish_reason", "stop"}};
  if (chat) {
    choice["message"] = {{"role", "assistant"}, {"content", text}};
  } else {
    choice["text"] = text;
  }
  nlohmann::json reply{{"id", "cmpl-test"},
                       {"object", chat ? "chat.completion" : "text_completion"},
                       {"model", model},
                       {"choices", nlohmann::json::array({choice})},
                       {"usage", {{"prompt_tokens", static_cast<int>(prompt.size() / 4)}, {"completion_tokens", 8}}}};
  ++good_replies_;
  response.set_content(reply.dump(), "application/json");
}

}  // namespace qk::niah::testing
