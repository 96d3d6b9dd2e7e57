// `eval score`: re-extract and re-judge every prediction of an `eval run` JSONL (so a fixed extraction
// rule applies to old runs too), then the accuracy with its Wilson 95% interval, maj@K and pass@k when
// problems were sampled K times, counts of truncated replies and dropped reasoning, per-problem results
// for paired tests, and exact McNemar tests against other runs over the same problems.
#pragma once
#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "util/statistics.hpp"

namespace qk::eval {

struct ReasoningSummary {
  std::string title;
  std::size_t total = 0;    // problems
  std::size_t correct = 0;  // by the headline rule: the one reply (K = 1) or the majority answer (maj@K)
  double accuracy = 0;      // percent
  Interval ci95;
  std::size_t samples_per_problem = 1;  // K (the largest seen)
  std::vector<double> pass_at_k;        // percent, index k-1 for k = 1..K (unbiased estimator, Chen et al.)
  std::size_t truncated = 0;            // replies cut by max_tokens (finish_reason "length")
  std::size_t think_dropped = 0;        // replies whose <think>...</think> was removed before extraction
  std::size_t think_unclosed = 0;       // replies still thinking when cut: no answer
  std::size_t no_answer = 0;            // replies with nothing to extract
  std::size_t replies = 0;              // every reply (K per problem)
  std::size_t empty_replies = 0;        // replies with no text but white space
  std::map<std::string, std::size_t> rules;     // extraction rule -> replies it answered
  std::map<std::string, double> per_problem;    // id -> 1 correct / 0 wrong (headline rule)
};

ReasoningSummary score_reasoning_file(const std::filesystem::path& predictions_jsonl);

// When most replies are empty, what to tell the user (the likely cause and the flag that fixes it); else "".
std::string empty_replies_warning(const ReasoningSummary& summary);

struct NamedReasoning {
  std::string name;
  ReasoningSummary summary;
};

// DIR/summary.json (what `report` reads; "kind": "reasoning"), summary.md, summary.csv; `others` are
// compared with a paired test each, in all three.
void write_reasoning_summary(const ReasoningSummary& summary, const std::filesystem::path& out_dir,
                             const std::vector<NamedReasoning>& others = {});
ReasoningSummary read_reasoning_summary(const std::filesystem::path& summary_json);
ReasoningSummary reasoning_summary_from_json(const nlohmann::json& summary, const std::string& where);  // where: the file

// A `summary.json` of `eval score`, or a predictions JSONL scored on the spot.
ReasoningSummary load_reasoning_run(const std::filesystem::path& path);

}  // namespace qk::eval
