// `qkrestore niah run`: send a task JSONL to an OpenAI-compatible server, append predictions. Parsing only.
#include <fmt/format.h>

#include "cli/backend_args.hpp"
#include "cli/command.hpp"
#include "niah/runner.hpp"

namespace qk::cli {
namespace {

struct RunArgs {
  BackendArgs backend;
  std::string tasks, out, only_task;
  int max_tokens = 128;
  std::size_t limit = 0;
  bool quiet = false;
};

int run_run(const RunArgs& args) {
  using namespace qk::niah;
  auto backend = make_backend(args.backend);
  RunOptions run;
  run.tasks_jsonl = args.tasks;
  run.predictions_jsonl = args.out;
  run.jobs = args.backend.jobs;
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
  add_backend_options(app, args->backend);
  app.add_option("--max-tokens", args->max_tokens, "tokens to generate (RULER: 128)")->capture_default_str();
  app.add_option("--task", args->only_task, "run only this task of the file");
  app.add_option("--limit", args->limit, "at most this many new predictions");
  app.add_option("-o,--out", args->out, "predictions JSONL (appended; done samples are skipped)")->required();
  app.add_flag("-q,--quiet", args->quiet, "no progress bar or summary");
  return [args] { return run_run(*args); };
}

}  // namespace qk::cli
