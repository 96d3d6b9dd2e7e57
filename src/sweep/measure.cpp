#include "sweep/measure.hpp"

#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "backend/prompt_template.hpp"
#include "eval/eval_run.hpp"
#include "util/files.hpp"
#include "niah/runner.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace qk::sweep {
namespace {

// What a candidate's cached results were measured on: if any of it changes, they are measured again.
nlohmann::json cache_key(const AskOptions& options, const MeasureSet& set, const Candidate& c) {
  return {{"candidate", c.description()},
          {"niah_tasks", std::filesystem::absolute(set.niah_tasks).string()},
          {"reasoning_tasks", set.reasoning_tasks.empty() ? "" : std::filesystem::absolute(set.reasoning_tasks).string()},
          {"reasoning_limit", options.reasoning_limit},
          {"reasoning_template", options.reasoning_template},
          {"reasoning_max_tokens", options.reasoning_max_tokens},
          {"niah_max_tokens", options.niah_max_tokens}};
}

}  // namespace

const std::vector<eval::Problem>& Measurer::problems(const std::filesystem::path& file) {
  auto it = problems_.find(file);
  if (it != problems_.end()) return it->second;
  std::vector<eval::Problem> all = eval::read_problems(file, options_.reasoning_format);
  if (options_.reasoning_limit && options_.reasoning_limit < all.size()) all.resize(options_.reasoning_limit);
  return problems_.emplace(file, std::move(all)).first->second;
}

const CandidateResult& Measurer::measure(const Candidate& candidate, const MeasureSet& set) {
  const auto start = std::chrono::steady_clock::now();
  const std::filesystem::path dir = set.dir / candidate.name;
  const nlohmann::json key = cache_key(options_, set, candidate);
  std::error_code error;
  if (std::filesystem::exists(dir / "candidate.json", error) && read_json_file(dir / "candidate.json") != key)
    std::filesystem::remove_all(dir, error);  // measured on something else: start it again
  std::filesystem::create_directories(dir, error);
  if (error) fail(ErrorKind::Io, "cannot create {}: {}", dir.string(), error.message());
  CandidateResult& r = results_.emplace_back(CandidateResult{candidate, {}, {}, 0, false});
  const bool reasoning = !set.reasoning_tasks.empty();
  if (std::filesystem::exists(dir / "done.json", error)) {
    r.recall = niah::read_summary_json(dir / "niah" / "summary.json");
    if (reasoning) r.reasoning = eval::read_reasoning_summary(dir / "eval" / "summary.json");
    r.cached = true;
  } else {
    write_whole_file(dir / "candidate.json", key.dump(2) + "\n");
    const Answerers answer = backends_.start(candidate, dir);
    niah::RunOptions niah_run;
    niah_run.tasks_jsonl = set.niah_tasks;
    niah_run.predictions_jsonl = dir / "niah" / "predictions.jsonl";
    niah_run.jobs = options_.jobs;
    niah_run.max_tokens = options_.niah_max_tokens;
    niah_run.show_progress = false;
    niah::run_predictions(*answer.raw, niah_run);
    r.recall = niah::summarize(niah::score_predictions_file(niah_run.predictions_jsonl));
    niah::write_summary_files(r.recall, dir / "niah", candidate.name);

    if (reasoning) {
      eval::EvalRunOptions eval_run;
      eval_run.predictions_jsonl = dir / "eval" / "predictions.jsonl";
      eval_run.jobs = options_.jobs;
      eval_run.show_progress = false;
      eval_run.recipe.max_tokens = options_.reasoning_max_tokens;
      backend::TemplateChoice choice{.source = backend::TemplateSource::ModelChat, .model_dir = options_.chat_model};
      if (!options_.reasoning_template.empty()) choice = {.builtin = options_.reasoning_template};
      eval_run.recipe.question = backend::question_template(choice, answer.chat != nullptr, {});
      backend::Backend* reasoning_backend = eval_run.recipe.question.chat ? answer.chat : answer.raw;
      eval::run_eval(*reasoning_backend, problems(set.reasoning_tasks), eval_run);
      r.reasoning = eval::score_reasoning_file(eval_run.predictions_jsonl);
      r.reasoning.title = candidate.name;
      eval::write_reasoning_summary(r.reasoning, dir / "eval");
    }
    backends_.release();
    write_whole_file(dir / "done.json", nlohmann::json{{"candidate", candidate.description()}}.dump() + "\n");
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!options_.quiet) {
    const std::string reasoning_text =
        reasoning ? fmt::format("  reasoning {}", format_percent_interval(r.reasoning.accuracy, r.reasoning.ci95)) : "";
    fmt::print(stderr, "{} [{}] {:<12} recall {}{}  ({}){}\n", set.name, results_.size(), candidate.name,
               format_percent_interval(r.recall.overall.score(), r.recall.overall.interval()), reasoning_text,
               candidate.description(), r.cached ? ", cached" : fmt::format(", {:.0f} s", r.seconds));
  }
  return r;
}

}  // namespace qk::sweep
