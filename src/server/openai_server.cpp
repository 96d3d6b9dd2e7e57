#include "server/openai_server.hpp"

#include <httplib.h>

#include <algorithm>
#include <chrono>

#include "server/api_key.hpp"
#include "server/guarded_http_server.hpp"
#include "server/openai_request.hpp"
#include "server/openai_response.hpp"
#include "server/openai_stream.hpp"
#include "util/utf8.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace qk::server {
namespace {

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void reply_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(dump_json(body), "application/json");
}

nlohmann::json parse_body(const httplib::Request& req) {
  try {
    return parse_json(req.body, "the request body");
  } catch (const Error& e) {
    throw HttpError(400, e.what());
  }
}

}  // namespace

OpenAiServer::OpenAiServer(engine_service::EngineService& service, ServerOptions options)
    : service_(service),
      options_(std::move(options)),
      http_(std::make_unique<GuardedHttpServer>(
          ConnectionLimits{.request_timeout_s = options_.request_timeout_s,
                           .max_connections_per_client = options_.max_connections_per_client})),
      started_(now_seconds()) {
  if (!options_.chat_template) options_.chat_template = std::make_shared<const backend::ChatTemplate>(backend::ChatTemplate::chatml());
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

  // Every handler runs inside `guard`: the API key first (401), then HttpError -> its status,
  // qk::Error(Usage) -> 400, anything else -> 500. The key is checked once the body is read, so the
  // connection stays in step for the client's next request.
  auto guard = [this](auto handler) {
    return [this, handler](const httplib::Request& req, httplib::Response& res) {
      try {
        check_api_key(req.get_header_value("Authorization"), options_.api_key);
        handler(req, res);
      } catch (const HttpError& e) {
        reply_json(res, e.status, error_body(e.what(), e.type, e.param, e.code));
        if (e.status == 401) res.set_header("WWW-Authenticate", "Bearer");
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

  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    const auto stats = service_.stats();
    reply_json(res, 200,
               {{"status", "ok"},
                {"requests_finished", stats.finished},
                {"requests_cancelled", stats.cancelled},
                {"tokens_generated", stats.tokens}});
  });

  http.Get("/v1/models", guard([this](const httplib::Request&, httplib::Response& res) {
             reply_json(res, 200, {{"object", "list"}, {"data", nlohmann::json::array({model_card()})}});
           }));
  http.Get(R"(/v1/models/(.+))", guard([this](const httplib::Request& req, httplib::Response& res) {
             const std::string id = req.matches[1];
             if (id != options_.model_name)
               throw HttpError(404, "The model '" + id + "' does not exist (this server serves '" + options_.model_name + "')",
                               "invalid_request_error", "model", "model_not_found");
             reply_json(res, 200, model_card());
           }));

  http.Post("/v1/completions", guard([this, check_length](const httplib::Request& req, httplib::Response& res) {
              const auto body = parse_body(req);
              CommonFields f = parse_common(body, Endpoint::Completions, options_.model_name, options_.default_max_tokens);
              const CompletionPrompt prompt = parse_completion_prompt(body);
              f.request.prompt = prompt.as_tokens ? prompt.tokens : service_.tokenizer().encode(prompt.text, true);
              if (f.request.prompt.empty()) throw HttpError(400, "'prompt' encodes to no tokens", "invalid_request_error", "prompt");
              check_length(f.request.prompt.size(), f.request.options.max_tokens);
              std::string echo;
              if (f.echo) echo = prompt.as_tokens ? utf8_lossy(service_.tokenizer().decode(prompt.tokens, false)) : prompt.text;
              reply(Endpoint::Completions, std::move(f), echo, res);
            }));

  http.Post("/v1/chat/completions", guard([this, check_length](const httplib::Request& req, httplib::Response& res) {
              const auto body = parse_body(req);
              CommonFields f = parse_common(body, Endpoint::ChatCompletions, options_.model_name, options_.default_max_tokens);
              if (body.value("max_tokens", nlohmann::json()).is_null() && body.value("max_completion_tokens", nlohmann::json()).is_null())
                f.request.options.max_tokens = 1024;  // chat default: a full answer, not 16 tokens
              const ChatRequest chat = parse_chat_request(body);
              const std::string text =
                  options_.chat_template->render(nlohmann::ordered_json(chat.raw_messages), chat.add_generation_prompt,
                                                 nlohmann::ordered_json(chat.template_kwargs), nullptr,
                                                 chat.continue_final_message);
              f.request.prompt = service_.tokenizer().encode(text, true);
              check_length(f.request.prompt.size(), f.request.options.max_tokens);
              reply(Endpoint::ChatCompletions, std::move(f), "", res);
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

nlohmann::json OpenAiServer::model_card() const {
  return {{"id", options_.model_name},
          {"object", "model"},
          {"created", started_},
          {"owned_by", "qkrestore"},
          {"max_model_len", service_.info().max_position_embeddings}};
}

void OpenAiServer::reply(Endpoint endpoint, CommonFields f, const std::string& echo, httplib::Response& res) {
  const bool chat = endpoint == Endpoint::ChatCompletions;
  const std::string id = (chat ? "chatcmpl-" : "cmpl-") + std::to_string(next_id_++);
  const std::size_t prompt_tokens = f.request.prompt.size();
  const std::uint64_t seed = f.request.options.seed;
  auto request_for = [&](std::size_t choice) {
    engine_service::TextRequest r = f.request;
    r.options.seed = choice_seed(seed, choice);
    return r;
  };

  if (f.stream) {
    auto queue = std::make_shared<PieceQueue>();
    try {
      for (std::size_t i = 0; i < f.n; ++i) {
        engine_service::TextRequest r = request_for(i);
        r.on_piece = [queue, i](engine_service::StreamPiece piece) { queue->push(i, std::move(piece)); };
        r.cancelled = queue->cancelled;
        service_.submit(std::move(r));  // the stream follows it through the queue
      }
    } catch (...) {
      queue->cancelled->store(true);  // the choices already submitted are dropped
      throw;
    }
    StreamShape shape{endpoint, id, f.model, now_seconds(), f.n, prompt_tokens, f.logprobs, f.include_usage, echo};
    stream_reply(res, std::move(queue), std::move(shape), service_.tokenizer());
    return;
  }

  std::vector<std::future<engine_service::TextResult>> pending;
  for (std::size_t i = 0; i < f.n; ++i) pending.push_back(service_.submit(request_for(i)));
  nlohmann::json choices = nlohmann::json::array();
  std::size_t completion_tokens = 0;
  for (std::size_t i = 0; i < f.n; ++i) {
    const engine_service::TextResult r = pending[i].get();
    completion_tokens += r.tokens.size();
    nlohmann::json logprobs;  // null unless asked
    if (f.logprobs) {
      const TokenRun run{r.tokens, r.logprobs, r.token_offsets};
      logprobs = chat ? chat_logprobs(service_.tokenizer(), run) : completion_logprobs(service_.tokenizer(), run, utf8_length(echo));
    }
    nlohmann::json choice{{"index", i}, {"logprobs", logprobs}, {"finish_reason", engine::finish_reason_name(r.finish)}};
    if (chat)
      choice["message"] = {{"role", "assistant"}, {"content", r.text}};
    else
      choice["text"] = echo + r.text;
    choices.push_back(std::move(choice));
  }
  reply_json(res, 200,
             {{"id", id},
              {"object", chat ? "chat.completion" : "text_completion"},
              {"created", now_seconds()},
              {"model", f.model},
              {"choices", std::move(choices)},
              {"usage", usage_json(prompt_tokens, completion_tokens)}});
}

OpenAiServer::~OpenAiServer() { stop(); }

int OpenAiServer::bind() {
  port_ = http_->bind(options_.host, options_.port);
  if (port_ < 0) fail(ErrorKind::Io, "cannot listen on {}:{} (address in use or not available)", options_.host, options_.port);
  return port_;
}

void OpenAiServer::serve() { http_->listen_after_bind(); }

void OpenAiServer::stop() {
  if (http_) http_->stop();
}

}  // namespace qk::server
