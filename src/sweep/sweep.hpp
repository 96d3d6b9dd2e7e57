// `qkrestore sweep`: candidate repairs measured on recall (NIAH) and reasoning (eval) by the product
// itself, the frontier between them, and a recommendation by a stated rule (recommend.hpp).
//   - The listed candidates (candidate_set.hpp) are measured first; with a unit pool the search
//     (search.hpp) then adds class x layer units to the start repair within the budget.
//   - Out of sample when selection sets are given (--niah-select, --reasoning-select): every candidate
//     is measured and the pick chosen on them; the reference points (SFT, base, the paper's restore, the
//     one-group repair top-1, the search's start), the pick and the selection frontier are then measured on the test sets, which
//     the report shows. In sample (no selection sets) everything is measured on the test sets.
// Resumable: each measurement lives in OUT/selection/NAME or OUT/candidates/NAME (measure.hpp).
#pragma once
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sweep/candidate_backends.hpp"
#include "sweep/candidate_set.hpp"
#include "sweep/measure.hpp"
#include "sweep/recommend.hpp"
#include "sweep/search.hpp"

namespace qk::sweep {

// The search, when the sweep has one: from the listed candidate `start`, adding units.
struct SearchPlan {
  SearchOptions options;  // pool, weights, budget (the listed candidates' measurements count against it)
  std::string start;      // the listed candidate the search starts from ("top-1")
  // The candidate that is `start` plus the moves, named `name`.
  std::function<Candidate(const Candidate& start, const std::vector<Move>& moves, const std::string& name)> compose;
};

struct SweepOptions {
  std::filesystem::path base, sft, out;
  std::filesystem::path niah_tasks, reasoning_tasks;  // the test sets: what the report shows
  std::filesystem::path niah_select, reasoning_select;  // the selection sets (empty: the test set of that axis)
  AskOptions ask;
  Rule rule;  // thresholds that replace the default rule (recommend.hpp)
  bool test_all = false;  // out of sample: measure every candidate on the test sets, not only those reported
  std::optional<SearchPlan> search;
  bool out_of_sample() const { return !niah_select.empty() || !reasoning_select.empty(); }
};

// A step of the search as the report shows it: the trial and the candidate that measured it.
struct SearchTrialResult {
  Trial trial;
  std::string candidate;  // its name in `selection` (or `results` in sample)
};

struct SweepResult {
  std::vector<CandidateResult> results;    // on the test sets, in candidate order: what the report shows
  std::vector<CandidateResult> selection;  // out of sample: every candidate on the selection sets
  std::optional<std::size_t> recommended;  // index into results
  std::string rule, reason;                // the rule applied, and why the pick (or none) came out
  std::vector<SearchTrialResult> search;   // the search path (empty without a search)
  std::string search_stopped;
  std::optional<std::size_t> search_start;  // index into results of the search's start
  bool out_of_sample = false;
};

SweepResult run_sweep(const SweepOptions& options, const std::vector<Candidate>& candidates, CandidateBackends& backends);

// OUT/sweep.json, sweep.md, frontier.svg, report.html (sweep_report.cpp).
void write_sweep_outputs(const SweepOptions& options, const SweepResult& result);

}  // namespace qk::sweep
