// `qkrestore niah generate | run | score | report`, parsing only (the work is in src/niah/):
//   generate: write a RULER-format task JSONL;
//   run: send a task JSONL to an OpenAI-compatible server, append predictions;
//   score: RULER string_match_all per task and length: CSV, JSON, markdown, SVG heatmaps;
//   report: one HTML page comparing scored runs.
#include <fstream>

#include <fmt/format.h>

#include "backend/prompt_template.hpp"
#include "cli/backend_args.hpp"
#include "cli/command.hpp"
#include "cli/surgery_args.hpp"
#include "niah/data_files.hpp"
#include "niah/report_html.hpp"
#include "niah/runner.hpp"
#include "niah/scoring.hpp"
#include "niah/task_set.hpp"
#include "util/error.hpp"
#include "util/named_path.hpp"

namespace qk::cli {
namespace {

struct NiahGenerateArgs {
  std::string tokenizer, tasks = "all", lengths = "4096", out, template_name = "base", template_file, haystack,
              data_dir;
  int samples = 500, grid_depths = 0, tokens_to_generate = 128, reserve_tokens = 0, jobs = 0;
  std::uint64_t seed = 42;
  bool quiet = false, full_token_count = false;
};

int run_niah_generate(const NiahGenerateArgs& args) {
  using namespace qk::niah;
  TaskSetPlan plan;
  plan.tasks = parse_task_list(args.tasks);
  plan.lengths = parse_lengths(args.lengths);
  plan.samples = args.samples;
  plan.grid_depths = args.grid_depths;

  GeneratorOptions options;
  options.seed = args.seed;
  options.tokens_to_generate = args.tokens_to_generate;
  options.reserve_tokens = args.reserve_tokens;
  options.full_token_count = args.full_token_count;
  backend::TemplateChoice choice;
  if (!args.template_file.empty()) {
    choice.source = backend::TemplateSource::File;
    choice.file = args.template_file;
  } else if (args.template_name == "model") {
    // The model's own chat template, from the --tokenizer folder (tokenizer.json's folder when a file).
    std::filesystem::path dir = args.tokenizer;
    if (!std::filesystem::is_directory(dir)) dir = dir.parent_path();
    choice.source = backend::TemplateSource::ModelChat;
    choice.model_dir = dir.empty() ? "." : dir;
  } else {
    choice.builtin = args.template_name;
  }
  options.model_template = backend::model_template(choice);

  const auto data_dir = find_niah_data_dir(args.data_dir);
  const WordList words = WordList::load(data_dir / "adjectives.txt", data_dir / "nouns.txt");
  std::optional<EssayHaystack> essay;
  bool needs_essay = false;
  for (const auto& task : plan.tasks) needs_essay |= task.haystack == HaystackKind::Essay;
  if (needs_essay) essay = EssayHaystack::load(args.haystack.empty() ? data_dir / kDefaultHaystackFile : std::filesystem::path(args.haystack));
  const auto counter = load_tokenizer_counter(args.tokenizer);

  const SampleGenerator generator(*counter, words, essay ? &*essay : nullptr, options);
  const auto requests = plan_requests(plan);
  const TaskSetStats stats = write_task_set(generator, requests, args.out, args.jobs, !args.quiet);
  if (!args.quiet)
    fmt::print(stderr,
               "wrote {} samples to {} in {:.2f} s (lengths {}..{} tokens incl. {} generated; generator version {}: "
               "files of an older version hold other samples for the same seed)\n",
               stats.samples, args.out, stats.seconds, stats.min_length, stats.max_length, args.tokens_to_generate,
               kGeneratorVersion);
  return kExitOk;
}

}  // namespace

Action setup_niah_generate(CLI::App& app) {
  auto args = std::make_shared<NiahGenerateArgs>();
  app.add_option("--tokenizer", args->tokenizer, "tokenizer.json, or a model folder holding one")->required();
  app.add_option("--tasks", args->tasks, "comma-separated tasks (niah_single_1 ... niah_multiquery) or all")
      ->capture_default_str();
  app.add_option("--lengths", args->lengths, "comma-separated target lengths in tokens (4096, 4K, 1M)")
      ->capture_default_str();
  app.add_option("--samples", args->samples, "samples per task and length (per grid cell with --grid-depths)")
      ->capture_default_str();
  app.add_option("--grid-depths", args->grid_depths, "length x depth grid with this many depths from 0 to 100%");
  app.add_option("--seed", args->seed, "random seed; the same seed gives byte-identical output")->capture_default_str();
  app.add_option("--template", args->template_name, "prompt template: base, chatml, llama-3, or model (the --tokenizer folder's own chat template)")->capture_default_str();
  app.add_option("--template-file", args->template_file, "prompt template file holding {task_template}");
  app.add_option("--haystack", args->haystack,
                 "essay haystack: any text file or RULER's PaulGrahamEssays.json (default: shipped KJV prose)");
  app.add_option("--tokens-to-generate", args->tokens_to_generate, "tokens reserved for the answer")
      ->capture_default_str();
  app.add_option("--reserve-tokens", args->reserve_tokens,
                 "tokens also reserved for a chat template the server applies (RULER model_template_token)");
  app.add_option("--data-dir", args->data_dir, "folder with adjectives.txt, nouns.txt and the shipped haystack");
  app.add_option("-j,--jobs", args->jobs, "1: build samples one by one; otherwise on the worker pool (all cores, or QK_THREADS)");
  app.add_option("-o,--out", args->out, "output JSONL")->required();
  app.add_flag("--full-token-count", args->full_token_count,
               "size with one full tokenization per prompt instead of per-unit counts and seams (slower)");
  app.add_flag("-q,--quiet", args->quiet, "no progress bar or summary");
  return [args] { return run_niah_generate(*args); };
}

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
  const backend::RunStats stats = run_predictions(*backend, run);
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

namespace {

struct ScoreArgs {
  std::string predictions, out, title;
};

int run_score(const ScoreArgs& args) {
  using namespace qk::niah;
  const Summary summary = summarize(score_predictions_file(args.predictions));
  const std::string title = args.title.empty() ? std::filesystem::path(args.predictions).stem().string() : args.title;
  write_summary_files(summary, args.out, title);
  fmt::print("{} predictions, {} tasks, {} lengths -> {}/summary.{{csv,json,md}}, heatmap.svg\n", summary.predictions,
             summary.tasks.size(), summary.lengths.size(), args.out);
  for (int length : summary.lengths) fmt::print("  {:>8} tokens: average {:.2f}\n", length, summary.average(length));
  return kExitOk;
}

}  // namespace

Action setup_niah_score(CLI::App& app) {
  auto args = std::make_shared<ScoreArgs>();
  app.add_option("predictions", args->predictions, "predictions JSONL from `niah run`")->required();
  app.add_option("-o,--out", args->out, "output folder")->required();
  app.add_option("--title", args->title, "title in the summary and heatmaps (default: file name)");
  return [args] { return run_score(*args); };
}

namespace {

struct ReportArgs {
  std::vector<std::string> runs;
  std::string out, title = "NIAH recall";
};

int run_report(const ReportArgs& args) {
  using namespace qk::niah;
  std::vector<NamedRun> runs;
  for (const auto& spec : args.runs) {
    const NamedPath run = parse_named_path(spec, "--run", "DIR", "a folder written by `niah score`");
    const std::filesystem::path& dir = run.path;
    runs.push_back({run.name, read_summary_json(std::filesystem::is_directory(dir) ? dir / "summary.json" : dir)});
  }
  std::ofstream out(args.out, std::ios::binary | std::ios::trunc);
  if (!out) fail(ErrorKind::Io, "cannot write {}", args.out);
  out << render_report_html(runs, args.title);
  fmt::print("wrote {} ({} runs)\n", args.out, runs.size());
  return kExitOk;
}

}  // namespace

Action setup_niah_report(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  app.add_option("--run", args->runs, "NAME=DIR of a `niah score` output; repeat for each run")->required();
  app.add_option("--title", args->title, "page title")->capture_default_str();
  app.add_option("-o,--out", args->out, "output HTML file")->required();
  return [args] { return run_report(*args); };
}

}  // namespace qk::cli
