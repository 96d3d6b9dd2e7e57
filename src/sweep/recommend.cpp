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

RuleJudge::RuleJudge(const Scored& sft, const Scored* base, Rule rule) : sft_(sft), base_(base), rule_(rule) {
  if (!rule_.min_gain_kept) return;
  if (!base_) fail(ErrorKind::Usage, "--min-gain-kept needs the base model among the candidates (drop --no-base)");
  gain_ = sft_.reasoning->accuracy - base_->reasoning->accuracy;
  if (gain_ <= 0)
    fail(ErrorKind::Usage,
         "--min-gain-kept: SFT's reasoning ({:.1f}%) is not above base's ({:.1f}%) on these problems, so there is "
         "no gain to keep",
         sft_.reasoning->accuracy, base_->reasoning->accuracy);
}

std::string RuleJudge::describe() const {
  if (rule_.thresholds()) return threshold_rule(rule_);
  return "the highest recall among repairs whose reasoning is not significantly below SFT's (exact McNemar, p >= 0.05)";
}

bool RuleJudge::eligible(const Scored& c) const {
  if (rule_.thresholds()) {
    const double kept = gain_ > 0 ? share_of_gain(c.reasoning->accuracy, base_->reasoning->accuracy, sft_.reasoning->accuracy) : 0.0;
    return (!rule_.min_reasoning || c.reasoning->accuracy >= *rule_.min_reasoning) &&
           (!rule_.min_recall || c.recall->overall.score() >= *rule_.min_recall) &&
           (!rule_.min_gain_kept || kept >= *rule_.min_gain_kept);
  }
  const PairedTest test = paired_test(c.reasoning->per_problem, sft_.reasoning->per_problem);
  return !(test.significant() && test.only_second > test.only_first);
}

bool RuleJudge::ranks_above(const Scored& a, const Scored& b) {
  const double recall = a.recall->overall.score(), other = b.recall->overall.score();
  return recall > other || (recall == other && a.reasoning->accuracy > b.reasoning->accuracy);
}

Recommendation recommend(const std::vector<Scored>& candidates, const Scored& sft, const Scored* base, const Rule& rule) {
  const RuleJudge judge(sft, base, rule);
  Recommendation out;
  out.rule = judge.describe();
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const Scored& c = candidates[i];
    if (c.is_reference || !judge.eligible(c)) continue;
    if (!out.index || RuleJudge::ranks_above(c, candidates[*out.index])) out.index = i;
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
