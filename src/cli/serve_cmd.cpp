// `qkrestore serve`: an OpenAI-compatible HTTP server on the embedded CPU engine. Parsing only.
#include <csignal>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "server/openai_server.hpp"

namespace qk::cli {
namespace {

struct ServeArgs {
  std::string model, host = "127.0.0.1", name, chat_format = "auto", api_key;
  int port = 8000;
  std::size_t max_batch = 8, prefill_chunk = 1024, default_max_tokens = 16;
  double request_timeout = server::ServerOptions{}.request_timeout_s;
  std::size_t max_connections_per_client = server::ServerOptions{}.max_connections_per_client;
};

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

server::OpenAiServer* running = nullptr;

int run_serve(const ServeArgs& args) {
  engine_service::ServiceOptions service_options;
  service_options.max_batch = args.max_batch;
  service_options.prefill_chunk = args.prefill_chunk;
  auto service = engine_service::EngineService::open(args.model, service_options);

  server::ServerOptions options;
  options.host = args.host;
  options.port = args.port;
  options.model_name = args.name.empty() ? std::filesystem::path(args.model).lexically_normal().filename().string() : args.name;
  if (options.model_name.empty()) options.model_name = args.model;
  options.chat_template = std::make_shared<const backend::ChatTemplate>(
      args.chat_format == "chatml" ? backend::ChatTemplate::chatml() : backend::ChatTemplate::from_model_dir(args.model));
  options.default_max_tokens = args.default_max_tokens;
  options.request_timeout_s = args.request_timeout;
  options.max_connections_per_client = args.max_connections_per_client;
  options.api_key = args.api_key;
  if (options.api_key.empty() && !is_loopback(args.host))
    fmt::print(stderr, "warning: serving on {} without an API key: anyone who reaches it can use the model "
                       "(--api-key or QKRESTORE_API_KEY)\n", args.host);
  server::OpenAiServer http(*service, options);
  const int port = http.bind();
  fmt::print(stderr, "serving {} ({}, {:.1f} MB fp32) as '{}' on http://{}:{}/v1 (chat template: {})\n", args.model,
             service->info().model_type, service->info().weight_bytes / 1e6, options.model_name, args.host, port,
             options.chat_template->source_name());
  if (!options.api_key.empty()) fmt::print(stderr, "clients must send 'Authorization: Bearer <the API key>'\n");
  running = &http;
  std::signal(SIGINT, [](int) { if (running) running->stop(); });
  std::signal(SIGTERM, [](int) { if (running) running->stop(); });
  http.serve();
  running = nullptr;
  return kExitOk;
}

}  // namespace

Action setup_serve(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  app.add_option("--model", args->model, "Hugging Face model directory (config.json, safetensors, tokenizer.json)")
      ->required();
  app.add_option("--port", args->port, "TCP port (0: any free port, printed on start)")->capture_default_str();
  app.add_option("--host", args->host, "address to listen on")->capture_default_str();
  app.add_option("--served-model-name", args->name, "model id clients send (default: the directory name)");
  app.add_option("--chat-format", args->chat_format, "auto (the model's own Jinja chat template; ChatML when it has none) or chatml")
      ->check(CLI::IsMember({"auto", "chatml"}))
      ->capture_default_str();
  app.add_option("--max-batch", args->max_batch, "requests decoded together")->capture_default_str();
  app.add_option("--prefill-chunk", args->prefill_chunk, "prompt tokens per forward pass")->capture_default_str();
  app.add_option("--default-max-tokens", args->default_max_tokens, "max_tokens when a completion request omits it")
      ->capture_default_str();
  app.add_option("--api-key", args->api_key,
                 "every route but /health needs 'Authorization: Bearer KEY' (401 otherwise); prefer the environment "
                 "variable, which `ps` does not show")
      ->envname("QKRESTORE_API_KEY");
  app.add_option("--request-timeout", args->request_timeout,
                 "seconds a client has to send one whole request (headers and body) before 408 and disconnection "
                 "(0: no deadline)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--max-connections-per-client", args->max_connections_per_client,
                 "connections open at once from one client address; more get 429 (0: no cap)")
      ->capture_default_str();
  return [args] { return run_serve(*args); };
}

}  // namespace qk::cli
