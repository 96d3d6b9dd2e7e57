// Scores made from counts, for tests of what is decided from scores (sweep's rule and search, locate):
// `right` of `n` samples correct, the first ones, so two runs share their correct samples as far as possible.
#pragma once
#include <string>
#include <vector>

#include "eval/scoring.hpp"
#include "niah/scoring.hpp"

namespace qk::test {

// NIAH samples at one length (ids "0".."n-1", or "L/0".. with a length prefix when several lengths are mixed).
inline niah::Summary recall_of(int right, int n, int length = 1024) {
  std::vector<niah::ScoredPrediction> p;
  for (int i = 0; i < n; ++i)
    p.push_back({std::to_string(length) + "/" + std::to_string(i), "niah_single_2", length, 50, true, i < right ? 1.0 : 0.0});
  return niah::summarize(p);
}

inline eval::ReasoningSummary reasoning_of(int right, int n) {
  eval::ReasoningSummary s;
  s.total = n;
  s.correct = right;
  s.accuracy = 100.0 * right / n;
  for (int i = 0; i < n; ++i) s.per_problem[std::to_string(i)] = i < right ? 1 : 0;
  return s;
}

}  // namespace qk::test
