// Which repair `sweep` recommends, by a rule stated in its output.
// Default: among the repairs whose reasoning is not significantly below SFT's (exact McNemar over the
// same problems, p >= 0.05, or above SFT), the one with the highest recall (ties: higher reasoning,
// then the earlier candidate, i.e. the smaller repair).
// --min-reasoning R / --min-recall C replace the significance rule by thresholds (percent).
// --min-gain-kept K replaces it by the share of SFT's reasoning gain over base a repair keeps (percent,
// needs the base candidate): unlike the significance test it does not tighten as the problem set grows,
// where every repair that costs anything at all ends up "significantly below SFT".
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

struct Rule {
  std::optional<double> min_reasoning = std::nullopt, min_recall = std::nullopt;  // percent
  std::optional<double> min_gain_kept = std::nullopt;  // percent of SFT's reasoning gain over base
  bool thresholds() const { return min_reasoning || min_recall || min_gain_kept; }
};

// How far `value` has come from `from` towards `to`, in percent: the share of SFT's reasoning gain over base a
// repair keeps (from base to SFT), or of full restore's recall gain it reaches (from SFT to restore).
inline double share_of_gain(double value, double from, double to) { return 100.0 * (value - from) / (to - from); }

// The rule applied to one repair at a time (what recommend() and the search both ask).
class RuleJudge {
 public:
  // base: the base model's scores (needed by min_gain_kept; may be null otherwise). Error(Usage) when the
  // rule needs what is missing (base, or a reasoning gain of SFT over base).
  RuleJudge(const Scored& sft, const Scored* base, Rule rule);
  bool eligible(const Scored& candidate) const;  // meets the rule's reasoning (and recall) conditions
  // a ranks above b among eligible repairs: higher recall, then higher reasoning (false on a tie).
  static bool ranks_above(const Scored& a, const Scored& b);
  std::string describe() const;  // the rule, in words

 private:
  const Scored& sft_;
  const Scored* base_;
  Rule rule_;
  double gain_ = 0;  // SFT's reasoning over base's, in points (min_gain_kept only)
};

// base: the base model's scores (needed by min_gain_kept; may be null otherwise).
Recommendation recommend(const std::vector<Scored>& candidates, const Scored& sft, const Scored* base, const Rule& rule);

}  // namespace qk::sweep
