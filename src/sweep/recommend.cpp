#include "sweep/recommend.hpp"

#include <fmt/format.h>

namespace qk::sweep {

Recommendation recommend(const std::vector<Scored>& candidates, const Scored& sft, std::optional<double> min_reasoning,
                         std::optional<double> min_recall) {
  Recommendation out;
  if (min_reasoning || min_recall)
    out.rule = fmt::format("the highest recall among repairs with reasoning >= {} and recall >= {}",
                           min_reasoning ? fmt::format("{:.1f}%", *min_reasoning) : "any",
                           min_recall ? fmt::format("{:.1f}%", *min_recall) : "any");
  else
    out.rule = "the highest recall among repairs whose reasoning is not significantly below SFT's "
               "(exact McNemar, p >= 0.05)";
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const Scored& c = candidates[i];
    if (c.is_reference) continue;
    bool eligible = true;
    if (min_reasoning || min_recall) {
      eligible = (!min_reasoning || c.reasoning->accuracy >= *min_reasoning) &&
                 (!min_recall || c.recall->overall.score() >= *min_recall);
    } else {
      const PairedTest test = paired_test(c.reasoning->per_problem, sft.reasoning->per_problem);
      eligible = !(test.significant() && test.only_second > test.only_first);
    }
    if (!eligible) continue;
    if (!out.index) {
      out.index = i;
      continue;
    }
    const Scored& best = candidates[*out.index];
    const double recall = c.recall->overall.score(), best_recall = best.recall->overall.score();
    if (recall > best_recall || (recall == best_recall && c.reasoning->accuracy > best.reasoning->accuracy)) out.index = i;
  }
  if (out.index) {
    const Scored& pick = candidates[*out.index];
    out.reason = fmt::format("{}: recall {:.1f}%, reasoning {:.1f}% (SFT: recall {:.1f}%, reasoning {:.1f}%)", pick.name,
                             pick.recall->overall.score(), pick.reasoning->accuracy, sft.recall->overall.score(),
                             sft.reasoning->accuracy);
  } else {
    out.reason = "no repair meets the rule: keep SFT as it is, or relax the thresholds";
  }
  return out;
}

}  // namespace qk::sweep
