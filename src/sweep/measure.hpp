// One candidate measured on one set of samples, by the product itself: its recall on a NIAH task file
// (`niah run`'s runner, RULER scoring) and its reasoning on problems (`eval run`'s runner and scoring).
// Resumable: the predictions and summaries live in SET_DIR/NAME, kept while the candidate's description
// and the inputs are unchanged, so a rerun continues where a stop left off. `sweep` measures its
// candidates on the selection sets and on the test sets with it, `locate` its views.
#pragma once
#include <deque>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "eval/problems.hpp"
#include "eval/scoring.hpp"
#include "niah/scoring.hpp"
#include "sweep/candidate_backends.hpp"
#include "sweep/candidate_set.hpp"

namespace qk::sweep {

// The samples a candidate is measured on, and the folder its results go to.
struct MeasureSet {
  std::string name;                         // "selection", "test": said in progress lines and reports
  std::filesystem::path niah_tasks;         // the recall axis
  std::filesystem::path reasoning_tasks;    // the reasoning axis; empty: recall only
  std::filesystem::path dir;                // results in dir/NAME
};

// How the answers are asked for (the same for every set).
struct AskOptions {
  eval::ProblemFileOptions reasoning_format;
  std::size_t reasoning_limit = 0;  // the first N problems of each reasoning file (0: all)
  std::string reasoning_template;   // empty: the model's chat template; else base | chatml | llama-3
  std::filesystem::path chat_model; // whose chat template renders the reasoning prompts (SFT)
  int reasoning_max_tokens = 256;
  int niah_max_tokens = 48;
  int jobs = 4;
  bool quiet = false;
};

struct CandidateResult {
  Candidate candidate;
  niah::Summary recall;
  eval::ReasoningSummary reasoning;  // total 0 when the set has no reasoning problems
  double seconds = 0;
  bool cached = false;
};

class Measurer {
 public:
  Measurer(AskOptions options, CandidateBackends& backends) : options_(std::move(options)), backends_(backends) {}
  // The candidate's scores on the set: measured, or read back when a finished run with the same key is
  // on disk. The reference stays valid as long as the Measurer.
  const CandidateResult& measure(const Candidate& candidate, const MeasureSet& set);
  std::size_t measured() const { return results_.size(); }  // calls so far

 private:
  const std::vector<eval::Problem>& problems(const std::filesystem::path& file);

  AskOptions options_;
  CandidateBackends& backends_;
  std::map<std::filesystem::path, std::vector<eval::Problem>> problems_;
  std::deque<CandidateResult> results_;
};

}  // namespace qk::sweep
