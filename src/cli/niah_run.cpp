// `qkrestore niah run`: send a task JSONL to an OpenAI-compatible server, append predictions. Parsing only.
#include <cstdlib>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "niah/openai_backend.hpp"
#include "niah/runner.hpp"
#include "server/embedded_backend.hpp"

namespace qk::cli {
namespace {

struct RunArgs {
  std::string tasks, out, server = "http://127.0.0.1:8000", model, api = "completions", chat_prefix = "assistant",
              api_key_env = "OPENAI_API_KEY", only_task, engine = "openai";
  int jobs = 4, retries = 5, max_tokens = 128;
  double timeout = 600, connect_timeout = 10, backoff = 1.0;
  std::size_t limit = 0;
  bool quiet = false;
};

int run_run(const RunArgs& args) {
  using namespace qk::niah;
  OpenAiOptions options;
  options.base_url = args.server;
  options.model = args.model;
  options.api = parse_api_kind(args.api);
  options.chat_prefix = parse_chat_prefix(args.chat_prefix);
  if (const char* key = std::getenv(args.api_key_env.c_str())) options.api_key = key;
  options.read_timeout_s = args.timeout;
  options.connect_timeout_s = args.connect_timeout;
  options.retries = args.retries;
  options.backoff_s = args.backoff;
  // --engine embedded: --model is a model directory run in-process by the CPU engine (src/engine).
  auto backend = args.engine == "embedded" ? server::make_embedded_backend(args.model) : make_openai_backend(options);

  RunOptions run;
  run.tasks_jsonl = args.tasks;
  run.predictions_jsonl = args.out;
  run.jobs = args.jobs;
  run.max_tokens = args.max_tokens;
  run.only_task = args.only_task;
  run.limit = args.limit;
  run.show_progress = !args.quiet;
  const RunStats stats = run_predictions(*backend, run);
  if (!args.quiet)
    fmt::print(stderr, "{} predictions written, {} already there, {} samples in {} ({:.1f} s)\n", stats.done,
               stats.skipped, stats.total, args.tasks, stats.seconds);
  return kExitOk;
}

}  // namespace

Action setup_niah_run(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  app.add_option("--tasks", args->tasks, "task JSONL from `niah generate` (or RULER's)")->required();
  app.add_option("--server", args->server, "server base URL, e.g. http://127.0.0.1:8000")->capture_default_str();
  app.add_option("--model", args->model, "model name sent to the server (--engine embedded: the model directory)")
      ->required();
  app.add_option("--engine", args->engine, "openai (an OpenAI-compatible server) or embedded (the CPU engine in-process)")
      ->check(CLI::IsMember({"openai", "embedded"}))
      ->capture_default_str();
  app.add_option("--api", args->api, "completions (raw prompt, built-in template) or chat (server template)")
      ->capture_default_str();
  app.add_option("--chat-prefix", args->chat_prefix,
                 "chat mode: answer prefix as a continued assistant message, appended to the user turn, or none")
      ->capture_default_str();
  app.add_option("--api-key-env", args->api_key_env, "environment variable holding the API key")->capture_default_str();
  app.add_option("-j,--jobs", args->jobs, "requests in flight")->capture_default_str();
  app.add_option("--timeout", args->timeout, "seconds to wait for one reply")->capture_default_str();
  app.add_option("--connect-timeout", args->connect_timeout, "seconds to wait for a connection")->capture_default_str();
  app.add_option("--retries", args->retries, "retries on connection errors, 429 and 5xx")->capture_default_str();
  app.add_option("--backoff", args->backoff, "first retry wait in seconds (doubles each retry)")->capture_default_str();
  app.add_option("--max-tokens", args->max_tokens, "tokens to generate (RULER: 128)")->capture_default_str();
  app.add_option("--task", args->only_task, "run only this task of the file");
  app.add_option("--limit", args->limit, "at most this many new predictions");
  app.add_option("-o,--out", args->out, "predictions JSONL (appended; done samples are skipped)")->required();
  app.add_flag("-q,--quiet", args->quiet, "no progress bar or summary");
  return [args] { return run_run(*args); };
}

}  // namespace qk::cli
