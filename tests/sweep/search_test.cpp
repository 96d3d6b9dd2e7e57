// The search's decisions (sweep/search.hpp) on scores given by a table: which units it screens, how it
// settles a weight, what it accepts, what it drops, and that it stops at the budget.
#include <deque>
#include <map>

#include <gtest/gtest.h>

#include "support/scores.hpp"
#include "sweep/search.hpp"
#include "util/error.hpp"

namespace {

using qk::sweep::Move;

using qk::test::reasoning_of;
using qk::test::recall_of;

// Recall and reasoning (out of 100 each) add up per unit and weight, as in Pilot 5 on the shipped pair:
// the early MLPs win recall back and cost reasoning the more of base they take; linear layers do nothing.
struct Effect {
  int recall = 0, reasoning = 0;
};
const std::map<std::string, std::map<double, Effect>> kEffects = {
    {"mlp@0-2", {{0.25, {40, -3}}, {0.5, {45, -15}}, {1.0, {48, -30}}}},
    {"mlp@0-1", {{0.25, {20, -2}}, {0.5, {25, -10}}, {1.0, {30, -20}}}},
    {"mlp@3-5", {{0.25, {3, 0}}, {0.5, {5, 0}}, {1.0, {8, 0}}}},
    {"linear@0-2", {{0.25, {0, 0}}, {0.5, {0, 0}}, {1.0, {0, -40}}}},
};

class TableMeasure final : public qk::sweep::SearchMeasure {
 public:
  qk::sweep::Scored measure(const std::vector<Move>& moves) override {
    int recall = 40, reasoning = 60;  // the start (a head repair)
    for (const auto& m : moves) {
      const Effect e = kEffects.at(m.unit).at(m.weight);
      recall += e.recall;
      reasoning += e.reasoning;
    }
    measured.push_back(qk::sweep::moves_text(moves));
    recalls_.push_back(recall_of(std::min(recall, 100), 100));
    reasonings_.push_back(reasoning_of(reasoning, 100));
    return {measured.back(), false, &recalls_.back(), &reasonings_.back()};
  }
  std::vector<std::string> measured;

 private:
  std::deque<qk::niah::Summary> recalls_;
  std::deque<qk::eval::ReasoningSummary> reasonings_;
};

struct Fixture {
  qk::niah::Summary sft_recall = recall_of(10, 100);
  qk::eval::ReasoningSummary sft_reasoning = reasoning_of(62, 100);
  qk::sweep::Scored sft{"sft", true, &sft_recall, &sft_reasoning};
};

TEST(SweepSearch, ScreensSettlesTheWeightAndAcceptsGreedily) {
  Fixture f;
  const qk::sweep::RuleJudge judge(f.sft, nullptr, {});
  TableMeasure measure;
  qk::sweep::SearchOptions o;
  o.pool = {"linear@0-2", "mlp@0-2", "mlp@3-5", "mlp@0-1"};
  const auto r = qk::sweep::greedy_search(o, judge, measure);
  EXPECT_EQ(measure.measured, (std::vector<std::string>{
                                  "",                                  // start
                                  "linear@0-2:0.5", "mlp@0-2:0.5", "mlp@3-5:0.5", "mlp@0-1:0.5",  // step 1: screen
                                  "mlp@0-2:0.25",                      // 0.5 costs 15 points of reasoning: lower
                                  "mlp@0-2:0.25,mlp@3-5:0.5",          // step 2: screen
                                  "mlp@0-2:0.25,mlp@3-5:1",            // settle upwards: still meets the rule
                              }));
  ASSERT_EQ(r.best, (std::vector<Move>{{"mlp@0-2", 0.25}, {"mlp@3-5", 1.0}}));
  // mlp@0-1 overlaps the accepted mlp@0-2 and linear@0-2 gained nothing: neither is tried at step 2.
  EXPECT_EQ(r.stopped, "the pool of units is empty");
  EXPECT_EQ(r.path[1].note, "no recall gain at weight 0.5: dropped from the pool");
  EXPECT_FALSE(r.path[2].meets_rule);
  EXPECT_TRUE(r.path[5].accepted);
  EXPECT_TRUE(r.path[7].accepted);
  EXPECT_EQ(r.path[7].step, 2u);
}

TEST(SweepSearch, StopsAtTheBudgetAndNeverMeasuresTwice) {
  Fixture f;
  const qk::sweep::RuleJudge judge(f.sft, nullptr, {});
  TableMeasure measure;
  qk::sweep::SearchOptions o;
  o.pool = {"mlp@0-2", "mlp@3-5"};
  o.budget = 3;
  const auto r = qk::sweep::greedy_search(o, judge, measure);
  EXPECT_EQ(measure.measured.size(), 3u);
  EXPECT_EQ(r.path.size(), 3u);
  // The budget ran out while settling mlp@0-2 (0.5 fails the rule, 0.25 not measured): mlp@3-5 meets it.
  EXPECT_EQ(r.best, (std::vector<Move>{{"mlp@3-5", 0.5}}));
  o.budget = 0;
  EXPECT_THROW(qk::sweep::greedy_search(o, judge, measure), qk::Error);
  o.budget = 5;
  o.weights = {0.5, 0.25};
  EXPECT_THROW(qk::sweep::greedy_search(o, judge, measure), qk::Error);
}

}  // namespace
