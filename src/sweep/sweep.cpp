#include "sweep/sweep.hpp"

#include <chrono>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "eval/eval_run.hpp"
#include "eval/model_chat.hpp"
#include "eval/report.hpp"
#include "niah/runner.hpp"
#include "sweep/recommend.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace qk::sweep {
namespace {

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail(ErrorKind::Io, "cannot write {}", path.string());
  out << text;
  out.close();
  if (!out) fail(ErrorKind::Io, "writing {} failed", path.string());
}

// What a candidate's cached results were measured on: if any of it changes, they are measured again.
nlohmann::json cache_key(const SweepOptions& options, const Candidate& c) {
  return {{"candidate", c.description()},
          {"niah_tasks", std::filesystem::absolute(options.niah_tasks).string()},
          {"reasoning_tasks", std::filesystem::absolute(options.reasoning_tasks).string()},
          {"reasoning_limit", options.reasoning_limit},
          {"reasoning_template", options.reasoning_template},
          {"reasoning_max_tokens", options.reasoning_max_tokens},
          {"niah_max_tokens", options.niah_max_tokens}};
}

std::string fmt_point(double value, const Interval& interval) {
  return fmt::format("{:.1f} [{:.1f}, {:.1f}]", value, 100 * interval.low, 100 * interval.high);
}

}  // namespace

SweepResult run_sweep(const SweepOptions& options, const std::vector<Candidate>& candidates, CandidateBackends& backends) {
  const auto problems_all = eval::read_problems(options.reasoning_tasks, options.reasoning_format);
  std::vector<eval::Problem> problems(problems_all.begin(),
                                      options.reasoning_limit && options.reasoning_limit < problems_all.size()
                                          ? problems_all.begin() + static_cast<std::ptrdiff_t>(options.reasoning_limit)
                                          : problems_all.end());
  SweepResult result;
  std::size_t number = 0;
  for (const auto& candidate : candidates) {
    ++number;
    const auto start = std::chrono::steady_clock::now();
    const std::filesystem::path dir = options.out / "candidates" / candidate.name;
    const nlohmann::json key = cache_key(options, candidate);
    std::error_code error;
    if (std::filesystem::exists(dir / "candidate.json", error) && read_json_file(dir / "candidate.json") != key)
      std::filesystem::remove_all(dir, error);  // measured on something else: start it again
    std::filesystem::create_directories(dir, error);
    if (error) fail(ErrorKind::Io, "cannot create {}: {}", dir.string(), error.message());
    CandidateResult r{candidate, {}, {}, 0, false};
    if (std::filesystem::exists(dir / "done.json", error)) {
      r.recall = niah::read_summary_json(dir / "niah" / "summary.json");
      r.reasoning = eval::read_reasoning_summary(dir / "eval" / "summary.json");
      r.cached = true;
    } else {
      write_text(dir / "candidate.json", key.dump(2) + "\n");
      const Answerers answer = backends.start(candidate, dir);
      niah::RunOptions niah_run;
      niah_run.tasks_jsonl = options.niah_tasks;
      niah_run.predictions_jsonl = dir / "niah" / "predictions.jsonl";
      niah_run.jobs = options.jobs;
      niah_run.max_tokens = options.niah_max_tokens;
      niah_run.show_progress = false;
      niah::run_predictions(*answer.raw, niah_run);
      r.recall = niah::summarize(niah::score_predictions_file(niah_run.predictions_jsonl));
      niah::write_summary_files(r.recall, dir / "niah", candidate.name);

      eval::EvalRunOptions eval_run;
      eval_run.predictions_jsonl = dir / "eval" / "predictions.jsonl";
      eval_run.jobs = options.jobs;
      eval_run.show_progress = false;
      eval_run.recipe.max_tokens = options.reasoning_max_tokens;
      niah::Backend* reasoning_backend = answer.raw;
      if (!options.reasoning_template.empty()) {
        eval_run.recipe.template_text = eval::builtin_question_template(options.reasoning_template);
      } else if (answer.chat) {
        eval_run.recipe.chat = true;
        reasoning_backend = answer.chat;
      } else {
        eval_run.recipe.template_text = eval::model_chat_question_template(options.sft, {});
      }
      eval::run_eval(*reasoning_backend, problems, eval_run);
      r.reasoning = eval::score_reasoning_file(eval_run.predictions_jsonl);
      r.reasoning.title = candidate.name;
      eval::write_reasoning_summary(r.reasoning, dir / "eval");
      backends.release();
      write_text(dir / "done.json", nlohmann::json{{"candidate", candidate.description()}}.dump() + "\n");
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!options.quiet)
      fmt::print(stderr, "sweep [{}/{}] {:<12} recall {}  reasoning {}  ({}){}\n", number, candidates.size(),
                 candidate.name, fmt_point(r.recall.overall.score(), r.recall.overall.interval()),
                 fmt_point(r.reasoning.accuracy, r.reasoning.ci95), candidate.description(),
                 r.cached ? ", cached" : fmt::format(", {:.0f} s", r.seconds));
    result.results.push_back(std::move(r));
  }
  if (const std::string saved = backends.savings(); !options.quiet && !saved.empty()) fmt::print(stderr, "sweep: {}\n", saved);

  std::vector<Scored> scored;
  const Scored* sft = nullptr;
  const Scored* base = nullptr;
  for (const auto& r : result.results)
    scored.push_back({r.candidate.name, r.candidate.kind != CandidateKind::Surgery, &r.recall, &r.reasoning});
  for (std::size_t i = 0; i < result.results.size(); ++i) {
    if (result.results[i].candidate.kind == CandidateKind::Sft) sft = &scored[i];
    if (result.results[i].candidate.kind == CandidateKind::Base) base = &scored[i];
  }
  if (!sft) fail(ErrorKind::Usage, "sweep needs the SFT model among its candidates");
  const Recommendation pick = recommend(scored, *sft, base, options.rule);
  result.recommended = pick.index;
  result.rule = pick.rule;
  result.reason = pick.reason;
  return result;
}

void write_sweep_outputs(const SweepOptions& options, const SweepResult& result) {
  const CandidateResult* sft = nullptr;
  const CandidateResult* base = nullptr;
  const CandidateResult* restore = nullptr;
  for (const auto& r : result.results) {
    if (r.candidate.kind == CandidateKind::Sft) sft = &r;
    if (r.candidate.kind == CandidateKind::Base) base = &r;
    if (r.candidate.name == "restore") restore = &r;
  }
  // Shares the targets are stated in: of SFT's reasoning gain over base, and of full restore's
  // recall gain over SFT.
  auto reasoning_kept = [&](const CandidateResult& r) -> std::optional<double> {
    if (!base || !sft || sft->reasoning.accuracy == base->reasoning.accuracy) return std::nullopt;
    return share_of_gain(r.reasoning.accuracy, base->reasoning.accuracy, sft->reasoning.accuracy);
  };
  auto recall_share = [&](const CandidateResult& r) -> std::optional<double> {
    if (!restore || !sft || restore->recall.overall.score() == sft->recall.overall.score()) return std::nullopt;
    return share_of_gain(r.recall.overall.score(), sft->recall.overall.score(), restore->recall.overall.score());
  };
  auto share_text = [](std::optional<double> v) { return v ? fmt::format("{:.0f}%", *v) : std::string("-"); };

  nlohmann::ordered_json j;
  j["base"] = options.base.string();
  j["sft"] = options.sft.string();
  j["rule"] = result.rule;
  j["reason"] = result.reason;
  auto& list = j["candidates"] = nlohmann::ordered_json::array();
  std::string md = fmt::format(
      "# sweep: {} -> {}\n\nRecall: NIAH ({} samples, RULER string_match_all); reasoning: {} problems, exact final "
      "answer. [95% Wilson intervals]; p: exact McNemar against SFT over the same samples.\n\n"
      "| candidate | repair | recall | reasoning | reasoning vs SFT | recall vs SFT | reasoning gain kept | share of "
      "restore's recall gain |\n|---|---|---:|---:|---|---|---:|---:|\n",
      options.base.string(), options.sft.string(), result.results.empty() ? 0 : result.results[0].recall.overall.samples,
      result.results.empty() ? 0 : result.results[0].reasoning.total);
  for (std::size_t i = 0; i < result.results.size(); ++i) {
    const CandidateResult& r = result.results[i];
    nlohmann::ordered_json entry{{"name", r.candidate.name},
                                 {"repair", r.candidate.description()},
                                 {"recall", r.recall.overall.score()},
                                 {"recall_ci95", {100 * r.recall.overall.interval().low, 100 * r.recall.overall.interval().high}},
                                 {"reasoning", r.reasoning.accuracy},
                                 {"reasoning_ci95", {100 * r.reasoning.ci95.low, 100 * r.reasoning.ci95.high}},
                                 {"recommended", result.recommended == i}};
    std::string versus_reasoning = "-", versus_recall = "-";
    if (sft && &r != sft) {
      const PairedTest reasoning = paired_test(r.reasoning.per_problem, sft->reasoning.per_problem);
      const PairedTest recall = paired_test(r.recall.per_sample, sft->recall.per_sample);
      versus_reasoning = describe_paired(reasoning, r.candidate.name, "sft");
      versus_recall = describe_paired(recall, r.candidate.name, "sft");
      entry["reasoning_vs_sft_p"] = reasoning.p_value;
      entry["recall_vs_sft_p"] = recall.p_value;
    }
    if (auto v = reasoning_kept(r)) entry["reasoning_gain_kept_percent"] = *v;
    if (auto v = recall_share(r)) entry["restore_recall_gain_share_percent"] = *v;
    if (r.candidate.kind == CandidateKind::Surgery) {
      entry["spec"] = r.candidate.spec.to_json();
      entry["command"] = r.candidate.spec.command(options.base.string(), options.sft.string(), "OUT");
    }
    list.push_back(entry);
    md += fmt::format("| {}{} | {} | {} | {} | {} | {} | {} | {} |\n", r.candidate.name,
                      result.recommended == i ? " **(pick)**" : "", r.candidate.description(),
                      fmt_point(r.recall.overall.score(), r.recall.overall.interval()),
                      fmt_point(r.reasoning.accuracy, r.reasoning.ci95), versus_reasoning, versus_recall,
                      share_text(reasoning_kept(r)), share_text(recall_share(r)));
  }
  md += "\nRule: " + result.rule + ".\nPick: " + result.reason + "\n";
  if (result.recommended) {
    const Candidate& c = result.results[*result.recommended].candidate;
    const std::string command = c.spec.command(options.base.string(), options.sft.string(), "OUT");
    j["recommended"] = c.name;
    j["command"] = command;
    md += "\nWrite it:\n\n    " + command + "\n";
  }
  std::error_code error;
  std::filesystem::create_directories(options.out, error);
  write_text(options.out / "sweep.json", j.dump(2) + "\n");
  write_text(options.out / "sweep.md", md);

  std::vector<eval::ReportRun> runs;
  for (const auto& r : result.results) runs.push_back({r.candidate.name, r.recall, r.reasoning});
  write_text(options.out / "frontier.svg", eval::render_frontier_svg(runs, "sweep: recall vs reasoning"));
  write_text(options.out / "report.html", eval::render_report(runs, "sweep: " + options.sft.filename().string(),
                                                              sft ? sft->candidate.name : ""));
}

}  // namespace qk::sweep
