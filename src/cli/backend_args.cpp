#include "cli/backend_args.hpp"

#include <cstdlib>

#include "backend/openai_backend.hpp"
#include "backend/embedded_backend.hpp"

namespace qk::cli {

void add_backend_options(CLI::App& app, BackendArgs& args) {
  app.add_option("--server", args.server, "server base URL, e.g. http://127.0.0.1:8000")->capture_default_str();
  app.add_option("--model", args.model, "model name sent to the server (--engine embedded: the model directory)")
      ->required();
  app.add_option("--engine", args.engine, "openai (an OpenAI-compatible server) or embedded (the CPU engine in-process)")
      ->check(CLI::IsMember({"openai", "embedded"}))
      ->capture_default_str();
  app.add_option("--api", args.api, "completions (raw prompt, built-in template) or chat (the model's chat template)")
      ->check(CLI::IsMember({"completions", "chat"}))
      ->capture_default_str();
  app.add_option("--chat-prefix", args.chat_prefix,
                 "chat mode: answer prefix as a continued assistant message, appended to the user turn, or none")
      ->capture_default_str();
  app.add_option("--api-key-env", args.api_key_env, "environment variable holding the API key")->capture_default_str();
  app.add_option("-j,--jobs", args.jobs, "requests in flight")->capture_default_str();
  app.add_option("--timeout", args.timeout, "seconds to wait for one reply")->capture_default_str();
  app.add_option("--connect-timeout", args.connect_timeout, "seconds to wait for a connection")->capture_default_str();
  app.add_option("--retries", args.retries, "retries on connection errors, 429 and 5xx")->capture_default_str();
  app.add_option("--backoff", args.backoff, "first retry wait in seconds (doubles each retry)")->capture_default_str();
}

std::unique_ptr<backend::Backend> make_backend(const BackendArgs& args) {
  if (args.embedded()) return backend::make_embedded_backend(args.model);
  backend::OpenAiOptions options;
  options.base_url = args.server;
  options.model = args.model;
  options.api = backend::parse_api_kind(args.api);
  options.chat_prefix = backend::parse_chat_prefix(args.chat_prefix);
  if (const char* key = std::getenv(args.api_key_env.c_str())) options.api_key = key;
  options.read_timeout_s = args.timeout;
  options.connect_timeout_s = args.connect_timeout;
  options.retries = args.retries;
  options.backoff_s = args.backoff;
  return backend::make_openai_backend(options);
}

}  // namespace qk::cli
