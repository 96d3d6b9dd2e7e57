// write_sweep_outputs: sweep.md (tables for people), sweep.json (the same for programs), frontier.svg and
// report.html (eval/report.hpp's two-axis page).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "eval/report.hpp"
#include "util/files.hpp"
#include "niah/heatmap_svg.hpp"
#include "sweep/sweep.hpp"

namespace qk::sweep {
namespace {

std::string point(double value, const Interval& interval) { return format_percent_interval(value, interval); }
std::string recall_text(const CandidateResult& r) { return point(r.recall.overall.score(), r.recall.overall.interval()); }
std::string reasoning_text(const CandidateResult& r) { return point(r.reasoning.accuracy, r.reasoning.ci95); }

const CandidateResult* of_kind(const std::vector<CandidateResult>& results, CandidateKind kind) {
  for (const auto& r : results)
    if (r.candidate.kind == kind) return &r;
  return nullptr;
}

// Per length, paired on the same samples: "+41.0 (p = 9e-13)".
std::string recall_difference(const CandidateResult& a, const CandidateResult& b, int length) {
  const auto x = niah::samples_at_length(a.recall, length), y = niah::samples_at_length(b.recall, length);
  const PairedTest test = paired_test(x, y);
  double sum_x = 0, sum_y = 0;
  for (const auto& [id, s] : x) sum_x += s;
  for (const auto& [id, s] : y) sum_y += s;
  const double points = x.empty() || y.empty() ? 0 : 100 * (sum_x / x.size() - sum_y / y.size());
  return fmt::format("{:+.1f} (p = {:.2g})", points, test.p_value);
}

// The candidates' table: overall and per-length recall, reasoning, tests against SFT, the two shares.
std::string results_table(const SweepOptions& options, const std::vector<CandidateResult>& results,
                          std::optional<std::size_t> pick, nlohmann::ordered_json& list) {
  const CandidateResult* sft = of_kind(results, CandidateKind::Sft);
  const CandidateResult* base = of_kind(results, CandidateKind::Base);
  const CandidateResult* restore = nullptr;
  for (const auto& r : results)
    if (r.candidate.name == "restore") restore = &r;
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
  const std::vector<int> lengths = results.empty() ? std::vector<int>{} : results[0].recall.lengths;
  const bool per_length = lengths.size() > 1;

  std::string md = "| candidate | repair | recall |";
  std::string rule = "|---|---|---:|";
  if (per_length)
    for (int l : lengths) md += " " + niah::format_length(l) + " |", rule += "---:|";
  md += " reasoning | reasoning vs SFT | recall vs SFT | reasoning gain kept | share of restore's recall gain |\n";
  md += rule + "---:|---|---|---:|---:|\n";
  for (std::size_t i = 0; i < results.size(); ++i) {
    const CandidateResult& r = results[i];
    nlohmann::ordered_json entry{{"name", r.candidate.name},
                                 {"repair", r.candidate.description()},
                                 {"recall", r.recall.overall.score()},
                                 {"recall_ci95", {100 * r.recall.overall.interval().low, 100 * r.recall.overall.interval().high}},
                                 {"reasoning", r.reasoning.accuracy},
                                 {"reasoning_ci95", {100 * r.reasoning.ci95.low, 100 * r.reasoning.ci95.high}},
                                 {"recommended", pick == i}};
    std::string cells;
    if (per_length) {
      auto& by_length = entry["recall_by_length"] = nlohmann::ordered_json::object();
      for (int l : lengths) {
        auto it = r.recall.by_length.find(l);
        const niah::Cell cell = it == r.recall.by_length.end() ? niah::Cell{} : it->second;
        by_length[std::to_string(l)] = {{"recall", cell.score()},
                                        {"ci95", {100 * cell.interval().low, 100 * cell.interval().high}},
                                        {"samples", cell.samples}};
        cells += " " + point(cell.score(), cell.interval()) + " |";
      }
    }
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
    md += fmt::format("| {}{} | {} | {} |{} {} | {} | {} | {} | {} |\n", r.candidate.name, pick == i ? " **(pick)**" : "",
                      r.candidate.description(), recall_text(r), cells, reasoning_text(r), versus_reasoning, versus_recall,
                      share_text(reasoning_kept(r)), share_text(recall_share(r)));
  }
  return md;
}

std::string role_name(TrialRole role) {
  switch (role) {
    case TrialRole::Start: return "start";
    case TrialRole::Screen: return "screen";
    case TrialRole::Settle: return "weight";
  }
  return "";
}

}  // namespace

void write_sweep_outputs(const SweepOptions& options, const SweepResult& result) {
  nlohmann::ordered_json j;
  j["base"] = options.base.string();
  j["sft"] = options.sft.string();
  j["rule"] = result.rule;
  j["reason"] = result.reason;
  j["picked_on"] = result.out_of_sample ? "selection" : "test";
  j["test_sets"] = {{"niah", options.niah_tasks.string()}, {"reasoning", options.reasoning_tasks.string()}};
  if (result.out_of_sample)
    j["selection_sets"] = {{"niah", (options.niah_select.empty() ? options.niah_tasks : options.niah_select).string()},
                           {"reasoning", (options.reasoning_select.empty() ? options.reasoning_tasks : options.reasoning_select).string()}};
  const std::size_t samples = result.results.empty() ? 0 : result.results[0].recall.overall.samples;
  const std::size_t problems = result.results.empty() ? 0 : result.results[0].reasoning.total;
  std::string md = fmt::format("# sweep: {} -> {}\n\n", options.base.string(), options.sft.string());
  if (result.out_of_sample)
    md += fmt::format("**Out of sample**: every candidate was measured and the pick chosen on the selection sets ({}, {}); "
                      "the table shows the reference points, the pick and the selection frontier measured again on the test "
                      "sets ({}, {}).\n\n",
                      j["selection_sets"]["niah"].get<std::string>(), j["selection_sets"]["reasoning"].get<std::string>(),
                      options.niah_tasks.string(), options.reasoning_tasks.string());
  else
    md += "**In sample**: the pick was chosen on the samples shown (pass --niah-select / --reasoning-select to choose "
          "out of sample).\n\n";
  md += fmt::format("Recall: NIAH ({} samples, RULER string_match_all); reasoning: {} problems, exact final answer. [95% "
                    "Wilson intervals]; p: exact McNemar against SFT over the same samples.\n\n",
                    samples, problems);
  md += results_table(options, result.results, result.recommended, j["candidates"] = nlohmann::ordered_json::array());
  md += "\nRule: " + result.rule + ".\nPick: " + result.reason + "\n";
  if (result.recommended) {
    const CandidateResult& pick = result.results[*result.recommended];
    const std::string command = pick.candidate.spec.command(options.base.string(), options.sft.string(), "OUT");
    j["recommended"] = pick.candidate.name;
    j["command"] = command;
    if (result.search_start && *result.search_start != *result.recommended) {
      const CandidateResult& start = result.results[*result.search_start];
      const PairedTest reasoning = paired_test(pick.reasoning.per_problem, start.reasoning.per_problem);
      md += fmt::format("\nThe pick against the search's start ({}), paired on the same samples{}: recall", start.candidate.name,
                        result.out_of_sample ? " of the test sets" : "");
      auto& versus = j["pick_vs_start"] = {{"start", start.candidate.name}, {"reasoning_p", reasoning.p_value}};
      for (int l : pick.recall.lengths) {
        md += fmt::format(" {} {},", niah::format_length(l), recall_difference(pick, start, l));
        versus["recall_" + std::to_string(l)] = recall_difference(pick, start, l);
      }
      md += fmt::format(" reasoning {:+.1f} points ({}).\n", pick.reasoning.accuracy - start.reasoning.accuracy,
                        describe_paired(reasoning, pick.candidate.name, start.candidate.name));
    }
    md += "\nWrite it:\n\n    " + command + "\n";
  }
  if (!result.search.empty()) {
    md += fmt::format("\n## The search ({} measured, stopped: {})\n\nFrom `{}`, units added greedily at blend weights; each "
                      "row a measurement{}.\n\n| # | step | kind | repair | recall | reasoning | meets the rule | note |\n"
                      "|---:|---:|---|---|---:|---:|---|---|\n",
                      result.search.size(), result.search_stopped, result.search.front().candidate,
                      result.out_of_sample ? " on the selection sets" : "");
    const std::vector<CandidateResult>& measured = result.out_of_sample ? result.selection : result.results;
    auto& path = j["search"] = {{"stopped", result.search_stopped}, {"path", nlohmann::ordered_json::array()}};
    for (std::size_t i = 0; i < result.search.size(); ++i) {
      const SearchTrialResult& s = result.search[i];
      const CandidateResult* r = nullptr;
      for (const auto& m : measured)
        if (m.candidate.name == s.candidate) r = &m;
      const std::string moves = moves_text(s.trial.moves);
      md += fmt::format("| {} | {} | {} | {}{} | {} | {} | {} | {} |\n", i + 1, s.trial.step, role_name(s.trial.role),
                        moves.empty() ? s.candidate : s.candidate + " + " + moves, s.trial.accepted ? " **(accepted)**" : "",
                        r ? recall_text(*r) : "-", r ? reasoning_text(*r) : "-", s.trial.meets_rule ? "yes" : "no", s.trial.note);
      path["path"].push_back({{"candidate", s.candidate},
                              {"step", s.trial.step},
                              {"kind", role_name(s.trial.role)},
                              {"moves", moves},
                              {"meets_rule", s.trial.meets_rule},
                              {"accepted", s.trial.accepted},
                              {"note", s.trial.note}});
    }
  }
  if (result.out_of_sample) {
    md += "\n## Every candidate on the selection sets (where the pick was chosen)\n\n";
    std::optional<std::size_t> pick;
    if (result.recommended)
      for (std::size_t i = 0; i < result.selection.size(); ++i)
        if (result.selection[i].candidate.name == result.results[*result.recommended].candidate.name) pick = i;
    md += results_table(options, result.selection, pick, j["selection"] = nlohmann::ordered_json::array());
  }
  std::error_code error;
  std::filesystem::create_directories(options.out, error);
  write_whole_file(options.out / "sweep.json", j.dump(2) + "\n");
  write_whole_file(options.out / "sweep.md", md);

  std::vector<eval::ReportRun> runs;
  for (const auto& r : result.results) runs.push_back({r.candidate.name, r.recall, r.reasoning});
  const CandidateResult* sft = of_kind(result.results, CandidateKind::Sft);
  write_whole_file(options.out / "frontier.svg", eval::render_frontier_svg(runs, "sweep: recall vs reasoning"));
  write_whole_file(options.out / "report.html",
                   eval::render_report(runs, "sweep: " + options.sft.filename().string(), sft ? sft->candidate.name : ""));
}

}  // namespace qk::sweep
