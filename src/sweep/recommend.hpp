// Which repair `sweep` recommends, by a rule stated in its output.
// Default: among the repairs whose reasoning is not significantly below SFT's (exact McNemar over the
// same problems, p >= 0.05, or above SFT), the one with the highest recall (ties: higher reasoning,
// then the earlier candidate, i.e. the smaller repair).
// --min-reasoning R / --min-recall C replace the significance rule by thresholds (percent).
// SFT and base are reference points, never recommended.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "eval/scoring.hpp"
#include "niah/scoring.hpp"

namespace qk::sweep {

struct Scored {
  std::string name;
  bool is_reference = false;  // SFT or base
  const niah::Summary* recall = nullptr;
  const eval::ReasoningSummary* reasoning = nullptr;
};

struct Recommendation {
  std::optional<std::size_t> index;
  std::string rule, reason;
};

Recommendation recommend(const std::vector<Scored>& candidates, const Scored& sft, std::optional<double> min_reasoning,
                         std::optional<double> min_recall);

}  // namespace qk::sweep
