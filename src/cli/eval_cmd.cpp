// `qkrestore eval run | score`: reasoning accuracy (GSM8K, MATH, any JSONL) beside NIAH's recall.
// Parsing only: the work lives in src/eval.
#include <fmt/format.h>

#include "backend/chat_template.hpp"
#include "backend/prompt_template.hpp"
#include "cli/backend_args.hpp"
#include "cli/command.hpp"
#include "eval/eval_run.hpp"
#include "eval/scoring.hpp"
#include "util/error.hpp"
#include "util/named_path.hpp"

namespace qk::cli {
namespace {

struct EvalRunArgs {
  BackendArgs backend;
  std::string tasks, out, format = "auto", question_field = "question", answer_field = "answer", template_name,
                                template_file, fewshot;
  std::size_t shots = 0, samples = 1, limit = 0;
  int max_tokens = 512;
  double temperature = 0;
  std::int64_t seed = 0;
  std::vector<std::string> stop;
  bool quiet = false;
};

int run_eval_run(const EvalRunArgs& args) {
  using namespace qk::eval;
  ProblemFileOptions file{parse_problem_format(args.format), args.question_field, args.answer_field};
  const std::vector<Problem> problems = read_problems(args.tasks, file);
  EvalRunOptions options;
  options.predictions_jsonl = args.out;
  PromptRecipe& recipe = options.recipe;
  recipe.max_tokens = args.max_tokens;
  recipe.stop = args.stop;
  if (!args.fewshot.empty()) {
    auto examples = read_problems(args.fewshot, file);
    if (args.shots > examples.size())
      fail(ErrorKind::Usage, "--shots {} but {} holds {} examples", args.shots, args.fewshot, examples.size());
    examples.resize(args.shots == 0 ? examples.size() : args.shots);
    recipe.shots = std::move(examples);
  } else if (args.shots > 0) {
    fail(ErrorKind::Usage, "--shots needs --fewshot FILE (the examples, in the format of --tasks)");
  }
  const bool chat = args.backend.api == "chat";
  if (chat && (!args.template_name.empty() || !args.template_file.empty()))
    fail(ErrorKind::Usage, "--api chat uses the model's own chat template: drop --template / --template-file");
  backend::TemplateChoice choice;
  if (chat) {
    choice.source = backend::TemplateSource::ModelChat;
    choice.model_dir = args.backend.model;  // read only by the embedded engine, which takes raw text
  } else if (!args.template_file.empty()) {
    choice.source = backend::TemplateSource::File;
    choice.file = args.template_file;
  } else {
    if (!args.template_name.empty()) choice.builtin = args.template_name;
    if (const auto source = backend::own_chat_template_source(args.backend.model); source && choice.builtin == "base")
      fmt::print(stderr,
                 "warning: {} has a chat template ({}), but the prompts are raw text (--api completions --template "
                 "base): a chat model often answers nothing to them. Use --api chat for its own template, or "
                 "--template chatml.\n",
                 args.backend.model, *source);
  }
  recipe.question = backend::question_template(choice, !args.backend.embedded(), shot_turns(recipe.shots));
  options.samples = args.samples;
  options.temperature = args.temperature;
  options.seed = args.seed;
  if (args.samples > 1 && args.temperature <= 0)
    fail(ErrorKind::Usage, "--samples {} with greedy decoding repeats one reply: give --temperature > 0", args.samples);
  options.jobs = args.backend.jobs;
  options.limit = args.limit;
  options.show_progress = !args.quiet;
  auto backend = make_backend(args.backend);
  const auto stats = run_eval(*backend, problems, options);
  if (!args.quiet)
    fmt::print(stderr, "{} predictions written, {} already there, {} problems in {} ({:.1f} s)\n", stats.done,
               stats.skipped, stats.total, args.tasks, stats.seconds);
  if (stats.done + stats.skipped > 0) {
    if (const std::string warning = empty_replies_warning(score_reasoning_file(args.out)); !warning.empty())
      fmt::print(stderr, "warning: {}\n", warning);
  }
  return kExitOk;
}

struct EvalScoreArgs {
  std::string predictions, out, title;
  std::vector<std::string> compare;
};

int run_eval_score(const EvalScoreArgs& args) {
  using namespace qk::eval;
  ReasoningSummary summary = score_reasoning_file(args.predictions);
  if (!args.title.empty()) summary.title = args.title;
  std::vector<NamedReasoning> others;
  for (const auto& spec : args.compare) {
    const NamedPath run = parse_named_path(spec, "--compare", "PATH", "predictions JSONL or an `eval score` folder");
    others.push_back({run.name, load_reasoning_run(run.path)});
  }
  write_reasoning_summary(summary, args.out, others);
  fmt::print("{}: {} {}/{} = {} -> {}/summary.{{json,md,csv}}\n", summary.title,
             summary.samples_per_problem > 1 ? fmt::format("maj@{}", summary.samples_per_problem) : "pass@1",
             summary.correct, summary.total, format_percent_interval(summary.accuracy, summary.ci95), args.out);
  if (const std::string warning = empty_replies_warning(summary); !warning.empty())
    fmt::print(stderr, "warning: {}\n", warning);
  if (summary.truncated || summary.think_unclosed || summary.no_answer)
    fmt::print("  cut by max_tokens: {}, still thinking: {}, no answer found: {}\n", summary.truncated,
               summary.think_unclosed, summary.no_answer);
  for (const auto& other : others) {
    const PairedTest test = paired_test(summary.per_problem, other.summary.per_problem);
    fmt::print("  vs {} ({:.1f}%): {}\n", other.name, other.summary.accuracy, describe_paired(test, summary.title, other.name));
  }
  return kExitOk;
}

}  // namespace

Action setup_eval(CLI::App& eval) {
  eval.require_subcommand(1);
  auto run_args = std::make_shared<EvalRunArgs>();
  CLI::App* run = eval.add_subcommand("run", "Run a problem file through a server or the embedded engine (resumable)");
  run->add_option("--tasks", run_args->tasks, "problem JSONL (GSM8K, MATH / MATH-500, or any JSONL)")->required();
  run->add_option("--format", run_args->format, "auto | gsm8k | math | jsonl")->capture_default_str();
  run->add_option("--question-field", run_args->question_field, "jsonl: the question's field")->capture_default_str();
  run->add_option("--answer-field", run_args->answer_field, "jsonl: the answer's field")->capture_default_str();
  add_backend_options(*run, run_args->backend);
  run->add_option("--template", run_args->template_name, "raw prompts: base | chatml | llama-3 (default base)");
  run->add_option("--template-file", run_args->template_file, "raw prompts: a template holding {question}");
  run->add_option("--fewshot", run_args->fewshot, "k-shot examples, in the format of --tasks");
  run->add_option("--shots", run_args->shots, "how many of --fewshot's examples (default: all)");
  run->add_option("--max-tokens", run_args->max_tokens, "tokens to generate per reply")->capture_default_str();
  run->add_option("--stop", run_args->stop, "stop string (repeatable)");
  run->add_option("--samples", run_args->samples, "replies per problem: maj@K and pass@k")->capture_default_str();
  run->add_option("--temperature", run_args->temperature, "sampling temperature (0: greedy)")->capture_default_str();
  run->add_option("--seed", run_args->seed, "seed of the first sample (sample k: seed + k)")->capture_default_str();
  run->add_option("--limit", run_args->limit, "at most this many new predictions");
  run->add_option("-o,--out", run_args->out, "predictions JSONL (appended; done problems are skipped)")->required();
  run->add_flag("-q,--quiet", run_args->quiet, "no progress bar or summary");

  auto score_args = std::make_shared<EvalScoreArgs>();
  CLI::App* score = eval.add_subcommand("score", "Score predictions: accuracy with 95% CI, maj@K, pass@k, paired tests");
  score->add_option("predictions", score_args->predictions, "predictions JSONL from `eval run`")->required();
  score->add_option("-o,--out", score_args->out, "output folder: summary.json, summary.md, summary.csv")->required();
  score->add_option("--title", score_args->title, "run name in the summary (default: file name)");
  score->add_option("--compare", score_args->compare,
                    "NAME=PATH of another run over the same problems (predictions or summary folder): exact McNemar test");
  return [run, run_args, score_args]() { return run->parsed() ? run_eval_run(*run_args) : run_eval_score(*score_args); };
}

}  // namespace qk::cli
