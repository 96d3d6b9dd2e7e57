// `qkrestore sweep`: every candidate repair measured on recall (NIAH) and reasoning (eval) by the
// product itself, the frontier between them, and a recommendation by a stated rule (recommend.hpp).
// Resumable: each candidate's predictions and summaries live in OUT/candidates/NAME, kept while its
// description is unchanged, so a rerun continues where a stop left off.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "eval/problems.hpp"
#include "eval/scoring.hpp"
#include "niah/scoring.hpp"
#include "sweep/candidate_backends.hpp"
#include "sweep/candidate_set.hpp"
#include "sweep/recommend.hpp"

namespace qk::sweep {

struct SweepOptions {
  std::filesystem::path base, sft, niah_tasks, reasoning_tasks, out;
  eval::ProblemFileOptions reasoning_format;
  std::size_t reasoning_limit = 0;       // the first N problems (0: all)
  std::string reasoning_template;        // empty: the model's chat template; else base | chatml | llama-3
  int reasoning_max_tokens = 256;
  int niah_max_tokens = 48;
  int jobs = 4;
  Rule rule;  // thresholds that replace the default rule (recommend.hpp)
  bool quiet = false;
};

struct CandidateResult {
  Candidate candidate;
  niah::Summary recall;
  eval::ReasoningSummary reasoning;
  double seconds = 0;
  bool cached = false;
};

struct SweepResult {
  std::vector<CandidateResult> results;  // in candidate order
  std::optional<std::size_t> recommended;
  std::string rule, reason;              // the rule applied, and why the pick (or none) came out
};

SweepResult run_sweep(const SweepOptions& options, const std::vector<Candidate>& candidates, CandidateBackends& backends);

// OUT/sweep.json, sweep.md, frontier.svg, report.html.
void write_sweep_outputs(const SweepOptions& options, const SweepResult& result);

}  // namespace qk::sweep
