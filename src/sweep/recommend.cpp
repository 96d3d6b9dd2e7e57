#include "sweep/recommend.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "util/error.hpp"

namespace qk::sweep {

namespace {

std::string threshold_rule(const Rule& rule) {
  std::vector<std::string> conditions;
  if (rule.min_reasoning) conditions.push_back(fmt::format("reasoning >= {:.1f}%", *rule.min_reasoning));
  if (rule.min_recall) conditions.push_back(fmt::format("recall >= {:.1f}%", *rule.min_recall));
  if (rule.min_gain_kept)
    conditions.push_back(fmt::format(">= {:.1f}% of SFT's reasoning gain over base kept", *rule.min_gain_kept));
  return fmt::format("the highest recall among repairs with {}", fmt::join(conditions, " and "));
}

}  // namespace

Recommendation recommend(const std::vector<Scored>& candidates, const Scored& sft, const Scored* base, const Rule& rule) {
  Recommendation out;
  double gain = 0;
  if (rule.min_gain_kept) {
    if (!base) fail(ErrorKind::Usage, "--min-gain-kept needs the base model among the candidates (drop --no-base)");
    gain = sft.reasoning->accuracy - base->reasoning->accuracy;
    if (gain <= 0)
      fail(ErrorKind::Usage,
           "--min-gain-kept: SFT's reasoning ({:.1f}%) is not above base's ({:.1f}%) on these problems, so there is "
           "no gain to keep",
           sft.reasoning->accuracy, base->reasoning->accuracy);
  }
  if (rule.thresholds())
    out.rule = threshold_rule(rule);
  else
    out.rule = "the highest recall among repairs whose reasoning is not significantly below SFT's "
               "(exact McNemar, p >= 0.05)";
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const Scored& c = candidates[i];
    if (c.is_reference) continue;
    bool eligible = true;
    if (rule.thresholds()) {
      const double kept =
          gain > 0 ? share_of_gain(c.reasoning->accuracy, base->reasoning->accuracy, sft.reasoning->accuracy) : 0.0;
      eligible = (!rule.min_reasoning || c.reasoning->accuracy >= *rule.min_reasoning) &&
                 (!rule.min_recall || c.recall->overall.score() >= *rule.min_recall) &&
                 (!rule.min_gain_kept || kept >= *rule.min_gain_kept);
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
