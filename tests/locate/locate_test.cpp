// locate's grid (quarters, ranges, halves), what it measures and refines, and how it ranks, on recall given
// by a table shaped like Pilot 5 on the shipped pair at 8K; its three outputs.
#include <deque>
#include <map>

#include <gtest/gtest.h>

#include "locate/locate.hpp"
#include "locate/report.hpp"
#include "support/scores.hpp"
#include "util/error.hpp"

namespace qk::locate {
namespace {

TEST(LocateGrid, QuartersRangesAndHalves) {
  EXPECT_EQ(quarter_ranges(12), (std::vector<LayerRange>{{0, 2}, {3, 5}, {6, 8}, {9, 11}}));
  EXPECT_EQ(quarter_ranges(10), (std::vector<LayerRange>{{0, 2}, {3, 5}, {6, 7}, {8, 9}}));
  EXPECT_EQ(quarter_ranges(2), (std::vector<LayerRange>{{0, 0}, {1, 1}}));
  EXPECT_EQ(parse_ranges("0-3,4-7,8-11", 12), (std::vector<LayerRange>{{0, 3}, {4, 7}, {8, 11}}));
  EXPECT_EQ(parse_ranges("5", 12), (std::vector<LayerRange>{{5, 5}}));
  EXPECT_THROW(parse_ranges("0-3,2-5", 12), Error);
  EXPECT_THROW(parse_ranges("0-12", 12), Error);
  EXPECT_THROW(parse_ranges("0-x", 12), Error);
  EXPECT_THROW(parse_ranges("", 12), Error);
  EXPECT_EQ(halves({0, 2}), (std::pair<LayerRange, LayerRange>{{0, 1}, {2, 2}}));
  EXPECT_THROW(halves({4, 4}), Error);
  const TensorClass attention{"attn", std::vector<int>{3, 7, 11}};
  EXPECT_FALSE(site_of(attention, {0, 2}));
  EXPECT_EQ(site_of(attention, {3, 5})->unit(), "attn@3");
  EXPECT_EQ(site_of({"embed", std::nullopt}, {0, 2})->unit(), "embed");
}

// 50 samples at 8K. SFT recalls none, base all; the early MLPs carry the damage (Pilot 5).
const std::map<std::pair<View, std::string>, int> kRecall = {
    {{View::Forward, "mlp@0-2"}, 20}, {{View::Forward, "mlp@0-1"}, 2},  {{View::Forward, "mlp@2"}, 1},
    {{View::Reverse, "mlp@0-2"}, 0},  {{View::Reverse, "mlp@0-1"}, 30}, {{View::Reverse, "mlp@2"}, 0},
    {{View::Reverse, "mlp@0"}, 20},   {{View::Reverse, "linear@0-2"}, 40},
};

class TableMeasure final : public LocateMeasure {
 public:
  TableMeasure() {
    sft_ = result("sft", 0, 60);
    base_ = result("base", 50, 5);
  }
  const sweep::CandidateResult& reference(View view) override { return view == View::Forward ? sft_ : base_; }
  const sweep::CandidateResult& measure(const Site& site, View view) override {
    measured.push_back(std::string(view_name(view)) + " " + site.unit());
    auto it = kRecall.find({view, site.unit()});
    const int recall = it != kRecall.end() ? it->second : view == View::Forward ? 0 : 50;
    return results_.emplace_back(result(measured.back(), recall, view == View::Forward ? 58 - recall / 2 : 5));
  }
  std::vector<std::string> measured;

 private:
  static sweep::CandidateResult result(const std::string& name, int recall, int reasoning) {
    sweep::CandidateResult r;
    r.candidate.name = name;
    r.recall = test::recall_of(recall, 50, 8192);
    r.reasoning = test::reasoning_of(reasoning, 100);
    return r;
  }
  sweep::CandidateResult sft_, base_;
  std::deque<sweep::CandidateResult> results_;
};

LocateOptions shipped_pair() {
  LocateOptions o;
  o.classes = {{"attn", std::vector<int>{3, 7, 11}},
               {"linear", std::vector<int>{0, 1, 2, 4, 5, 6, 8, 9, 10}},
               {"mlp", std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
               {"embed", std::nullopt}};
  o.ranges = quarter_ranges(12);
  return o;
}

TEST(Locate, RefinesWhatMattersAndNamesTheEarlyMlpsFirst) {
  TableMeasure measure;
  const LocateResult r = run_locate(shipped_pair(), measure);
  // 12 sites per view in the grouping (attention has no layer in 0-2); then the significant ones split.
  ASSERT_EQ(measure.measured.size(), 12u + 2 + 12 + 2 + 2 + 2);
  EXPECT_EQ(measure.measured[0], "forward attn@3");
  EXPECT_EQ(measure.measured[3], "forward linear@0-2");
  EXPECT_EQ(measure.measured[5], "forward linear@6-8");  // linear layers 6 and 8 of quarter 6-8
  EXPECT_EQ(measure.measured[24], "forward mlp@0-1");    // refinements after both views' groupings
  EXPECT_EQ(r.sites[r.forward[0]].site.unit(), "mlp@0-2");
  EXPECT_NEAR(r.sites[r.forward[0]].effect, 40.0, 1e-9);
  EXPECT_TRUE(r.sites[r.forward[0]].significant);
  EXPECT_FALSE(r.sites[r.forward[1]].significant);  // mlp@0-1 alone: 2 of 50
  // Reverse: MLP 2 alone breaks 8K as much as MLPs 0-2 together, and is the smaller site.
  EXPECT_EQ(r.sites[r.reverse[0]].site.unit(), "mlp@2");
  EXPECT_EQ(r.sites[r.reverse[1]].site.unit(), "mlp@0-2");
  EXPECT_EQ(r.sites[r.reverse[2]].site.unit(), "mlp@0");  // refined twice: 0-2 -> 0-1 -> 0
  EXPECT_EQ(r.sites[r.reverse[2]].depth, 2u);
  const SiteResult& forward = r.sites[r.forward[0]];
  ASSERT_TRUE(forward.reasoning && forward.reasoning_test);
  EXPECT_EQ(*forward.reasoning, 48.0);
  EXPECT_TRUE(forward.reasoning_test->significant());  // 48 against SFT's 60: 12 problems lost
}

TEST(Locate, StopsAtItsBudgetAndWritesItsTables) {
  TableMeasure measure;
  LocateOptions o = shipped_pair();
  o.budget = 16;  // the grouping, linear@0-2's halves, mlp@0-2's halves; mlp@0-1's are left
  o.views = {View::Reverse};
  const LocateResult r = run_locate(o, measure);
  EXPECT_EQ(r.sites.size(), 16u);
  EXPECT_EQ(r.stopped, "the budget of 16 sites was spent with 2 left to measure");
  EXPECT_TRUE(r.forward.empty());

  LocateReportInfo info{"models/base", "models/cot", "niah.jsonl", "", 12, &measure.reference(View::Forward),
                        &measure.reference(View::Reverse)};
  const auto j = locate_json(r, info);
  EXPECT_EQ(j["ranking"]["reverse"][0], "mlp@2");
  EXPECT_EQ(j["sites"][0]["lengths"][0]["length"], 8192);
  const std::string md = locate_markdown(r, info);
  EXPECT_NE(md.find("| 1 | `mlp@2` | 1 | 0.0 [0.0, 7.1] | **+100.0 (1.8e-15)** |"), std::string::npos) << md;
  const std::string html = locate_html(r, info);
  EXPECT_NE(html.find("<td colspan=\"3\" style=\"background:#d73027\""), std::string::npos) << html;  // mlp@0-2: 100 broken
  EXPECT_EQ(html.find("Forward view"), std::string::npos);
}

}  // namespace
}  // namespace qk::locate
