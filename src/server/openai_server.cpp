#include "server/openai_server.hpp"

#include <httplib.h>

#include <algorithm>
#include <chrono>

#include "server/openai_request.hpp"
#include "util/error.hpp"

namespace qk::server {
namespace {

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void reply_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  // Generated text can end inside a UTF-8 sequence (a byte-level token): such bytes become U+FFFD.
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

nlohmann::json parse_body(const httplib::Request& req) {
  try {
    return nlohmann::json::parse(req.body);
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for a number like 1e309
    throw HttpError(400, std::string("the request body is not valid JSON: ") + e.what());
  }
}

nlohmann::json usage(const TextResult& r) {
  return {{"prompt_tokens", r.prompt_tokens},
          {"completion_tokens", r.tokens.size()},
          {"total_tokens", r.prompt_tokens + r.tokens.size()}};
}

}  // namespace

OpenAiServer::OpenAiServer(EngineService& service, ServerOptions options)
    : service_(service), options_(std::move(options)), http_(std::make_unique<httplib::Server>()) {
  auto& http = *http_;
  http.set_payload_max_length(options_.max_body_bytes);
  // Bounded against idle and slow clients (ServerOptions): without these, httplib's pool of
  // max(8, cores - 1) threads is held by 8 half-open connections, 5 s each, and everyone queues behind them.
  const std::size_t workers = std::max<std::size_t>(1, options_.worker_threads);
  http.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  http.set_read_timeout(options_.read_timeout_s, 0);
  http.set_write_timeout(options_.write_timeout_s, 0);
  http.set_keep_alive_timeout(options_.keep_alive_timeout_s);
  http.set_keep_alive_max_count(options_.keep_alive_max_requests);

  // Every handler runs inside `guard`: HttpError -> its status, qk::Error(Usage) -> 400, anything else -> 500.
  auto guard = [this](auto handler) {
    return [this, handler](const httplib::Request& req, httplib::Response& res) {
      try {
        handler(req, res);
      } catch (const HttpError& e) {
        reply_json(res, e.status, error_body(e.what(), e.type));
      } catch (const Error& e) {
        const bool client = e.kind() == ErrorKind::Usage;
        reply_json(res, client ? 400 : 500, error_body(e.what(), client ? "invalid_request_error" : "server_error"));
      } catch (const std::exception& e) {
        reply_json(res, 500, error_body(std::string("internal error: ") + e.what(), "server_error"));
      }
    };
  };

  auto check_length = [this](std::size_t prompt_tokens, std::size_t max_tokens) {
    const std::size_t context = service_.info().max_position_embeddings;
    if (context && prompt_tokens + max_tokens > context)
      throw HttpError(400, "the prompt (" + std::to_string(prompt_tokens) + " tokens) plus max_tokens (" +
                               std::to_string(max_tokens) + ") exceed the model's context of " +
                               std::to_string(context) + " tokens");
  };

  http.Get("/health", [](const httplib::Request&, httplib::Response& res) { reply_json(res, 200, {{"status", "ok"}}); });

  http.Get("/v1/models", guard([this](const httplib::Request&, httplib::Response& res) {
             nlohmann::json model{{"id", options_.model_name},
                                  {"object", "model"},
                                  {"created", now_seconds()},
                                  {"owned_by", "qkrestore"},
                                  {"max_model_len", service_.info().max_position_embeddings}};
             reply_json(res, 200, {{"object", "list"}, {"data", nlohmann::json::array({model})}});
           }));

  http.Post("/v1/completions", guard([this, check_length](const httplib::Request& req, httplib::Response& res) {
              const auto body = parse_body(req);
              CommonFields f = parse_common(body, options_.model_name, options_.default_max_tokens);
              const CompletionPrompt prompt = parse_completion_prompt(body);
              f.request.prompt = prompt.as_tokens ? prompt.tokens : service_.tokenizer().encode(prompt.text, true);
              if (f.request.prompt.empty()) throw HttpError(400, "'prompt' encodes to no tokens");
              check_length(f.request.prompt.size(), f.request.options.max_tokens);
              const TextResult r = service_.run(std::move(f.request));
              reply_json(res, 200,
                         {{"id", "cmpl-" + std::to_string(next_id_++)},
                          {"object", "text_completion"},
                          {"created", now_seconds()},
                          {"model", f.model},
                          {"choices", {{{"index", 0},
                                        {"text", r.text},
                                        {"logprobs", nullptr},
                                        {"finish_reason", engine::finish_reason_name(r.finish)}}}},
                          {"usage", usage(r)}});
            }));

  http.Post("/v1/chat/completions", guard([this, check_length](const httplib::Request& req, httplib::Response& res) {
              const auto body = parse_body(req);
              CommonFields f = parse_common(body, options_.model_name, options_.default_max_tokens);
              if (!body.contains("max_tokens") && !body.contains("max_completion_tokens"))
                f.request.options.max_tokens = 1024;  // chat default: a full answer, not 16 tokens
              const ChatRequest chat = parse_chat_request(body);
              const std::string text = render_chat(options_.chat_format, chat.messages, chat.add_generation_prompt,
                                                   chat.continue_final_message);
              f.request.prompt = service_.tokenizer().encode(text, true);
              check_length(f.request.prompt.size(), f.request.options.max_tokens);
              const TextResult r = service_.run(std::move(f.request));
              reply_json(res, 200,
                         {{"id", "chatcmpl-" + std::to_string(next_id_++)},
                          {"object", "chat.completion"},
                          {"created", now_seconds()},
                          {"model", f.model},
                          {"choices", {{{"index", 0},
                                        {"message", {{"role", "assistant"}, {"content", r.text}}},
                                        {"logprobs", nullptr},
                                        {"finish_reason", engine::finish_reason_name(r.finish)}}}},
                          {"usage", usage(r)}});
            }));

  // Unknown routes and methods: 404 / 405 with a JSON body instead of httplib's empty page.
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    const std::string what = res.status == 404 ? "no route " + req.method + " " + req.path
                                               : "HTTP " + std::to_string(res.status);
    res.set_content(error_body(what, res.status == 404 ? "not_found_error" : "invalid_request_error").dump(),
                    "application/json");
  });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    reply_json(res, 500, error_body("internal error", "server_error"));
  });
}

OpenAiServer::~OpenAiServer() { stop(); }

int OpenAiServer::bind() {
  if (options_.port == 0) {
    port_ = http_->bind_to_any_port(options_.host);
  } else {
    port_ = http_->bind_to_port(options_.host, options_.port) ? options_.port : -1;
  }
  if (port_ < 0) fail(ErrorKind::Io, "cannot listen on {}:{} (address in use or not available)", options_.host, options_.port);
  return port_;
}

void OpenAiServer::serve() { http_->listen_after_bind(); }

void OpenAiServer::stop() {
  if (http_) http_->stop();
}

}  // namespace qk::server
