// An OpenAI-compatible HTTP server (cpp-httplib) over an EngineService (src/engine_service):
//   GET  /v1/models              the one served model
//   GET  /v1/models/{id}         it alone (404 for another id)
//   POST /v1/completions         raw prompt (string or token ids)
//   POST /v1/chat/completions    messages rendered with the model's chat format (ChatML)
//   GET  /health                 200 when up, with the engine's counters (requests finished / cancelled, tokens)
// Both POST routes stream (server-sent events) with "stream": true, give logprobs, n choices, seeded
// sampling and penalties; the fields and what is refused are in openai_request.hpp and docs/engine.md.
// Requests from many connections queue into the engine thread; bad requests get 400 (unknown model 404,
// unknown route 404) with an OpenAI-style JSON error body, and no request can take the server down.
// With an API key, requests without it get 401; a client gets 408 when its request takes longer than
// the request deadline to arrive and 429 past its connection cap (ServerOptions).
#pragma once
#include <atomic>
#include <memory>
#include <string>

#include "backend/chat_template.hpp"
#include "engine_service/engine_service.hpp"
#include "server/openai_request.hpp"

#include <nlohmann/json.hpp>

namespace httplib {
struct Response;
}

namespace qk::server {

class GuardedHttpServer;

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;  // 0: any free port (see bound_port)
  std::string model_name;
  std::shared_ptr<const backend::ChatTemplate> chat_template;  // the model's (ChatTemplate::from_model_dir); null: ChatML
  std::size_t default_max_tokens = 16;  // OpenAI's default for /v1/completions
  std::size_t max_body_bytes = 64 << 20;

  // Connections are served by a fixed pool of worker threads, one connection per thread at a time.
  // A connection that stalls (half a request, then nothing; a client that never reads) holds its
  // thread for at most one timeout; while fewer than `worker_threads` connections stall, a good
  // client is answered at once, and beyond that within ceil(stalled / worker_threads) timeouts
  // (docs/hardening.md). The timeouts bound each socket read or write, not a whole request.
  std::size_t worker_threads = 128;   // idle workers only wait on a condition variable
  int read_timeout_s = 5;             // the client sends nothing for this long: connection closed
  int write_timeout_s = 5;            // the client reads nothing for this long: connection closed
  int keep_alive_timeout_s = 2;       // an idle kept-alive connection gives its thread back after this
  std::size_t keep_alive_max_requests = 32;  // then the connection is closed, so no client keeps a thread forever
  // Per client (guarded_http_server.hpp): the whole request (line, headers, body) within this many
  // seconds of connecting or of the previous response, else 408 (0: no deadline); at most this many
  // connections at once from one address, else 429 (0: no cap; half the worker pool by default).
  double request_timeout_s = 60;
  std::size_t max_connections_per_client = 64;
  // Not empty: every route but /health needs "Authorization: Bearer <api_key>"; without it, 401 in
  // OpenAI's error shape (vLLM's and llama.cpp's --api-key).
  std::string api_key;
};

class OpenAiServer {
 public:
  OpenAiServer(engine_service::EngineService& service, ServerOptions options);
  ~OpenAiServer();
  // Binds the socket; returns the port. Throws Error(Io) when the address is taken.
  int bind();
  // Serves until stop(); call after bind().
  void serve();
  void stop();
  int bound_port() const { return port_; }

 private:
  nlohmann::json model_card() const;
  // Runs the n choices of a parsed request and answers: one JSON reply, or a stream when asked.
  void reply(Endpoint endpoint, CommonFields fields, const std::string& echo, httplib::Response& res);

  engine_service::EngineService& service_;
  ServerOptions options_;
  std::unique_ptr<GuardedHttpServer> http_;
  std::int64_t started_;
  std::atomic<std::uint64_t> next_id_{1};
  int port_ = -1;
};

}  // namespace qk::server
