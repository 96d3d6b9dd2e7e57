// Wilson intervals, the exact McNemar test and pass@k against values computed independently
// (R's binom.test / prop.test(correct = FALSE) and the closed forms).
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "util/statistics.hpp"

namespace {

TEST(Wilson, MatchesPublishedValues) {
  // prop.test(x = 81, n = 263, correct = FALSE)$conf.int = 0.2553, 0.3662 (Wilson without continuity).
  const auto i = qk::wilson_interval(81, 263);
  EXPECT_NEAR(i.low, 0.2553, 5e-4);
  EXPECT_NEAR(i.high, 0.3662, 5e-4);
  // The edges stay inside [0, 1] and are not degenerate: 0/20 -> [0, 0.161], 20/20 -> [0.839, 1].
  const auto zero = qk::wilson_interval(0, 20);
  EXPECT_DOUBLE_EQ(zero.low, 0);
  EXPECT_NEAR(zero.high, 0.1611, 5e-4);
  const auto all = qk::wilson_interval(20, 20);
  EXPECT_NEAR(all.low, 0.8389, 5e-4);
  EXPECT_DOUBLE_EQ(all.high, 1);
  const auto none = qk::wilson_interval(0, 0);
  EXPECT_EQ(none.low, 0);
  EXPECT_EQ(none.high, 1);
}

// One Wilson interval for every report (issue 22): `heads` used its own copy, which gave 0 [0, 0] for a
// recall over no samples where niah and eval give [0, 1]; the proportion estimate is that interval.
TEST(Wilson, EstimatesUseTheOneInterval) {
  for (auto [hits, n] : {std::pair<double, std::size_t>{0, 0}, {0, 20}, {7, 20}, {20, 20}, {81, 263}, {2.5, 4}}) {
    const auto interval = qk::wilson_interval(hits, n);
    const auto estimate = qk::proportion_estimate(hits, n);
    EXPECT_EQ(estimate.low, interval.low);
    EXPECT_EQ(estimate.high, interval.high);
    EXPECT_DOUBLE_EQ(estimate.value, n == 0 ? 0 : hits / double(n));
  }
  const auto none = qk::proportion_estimate(0, 0).scaled(100);
  EXPECT_EQ(none.low, 0);
  EXPECT_EQ(none.high, 100);
}

TEST(MeanEstimate, NormalIntervalOfPerSampleValues) {
  const std::vector<double> diffs{100, 0, 0, 100, -100, 0, 100, 100};  // mean 37.5, sd 74.4
  const auto e = qk::mean_estimate(diffs);
  EXPECT_DOUBLE_EQ(e.value, 37.5);
  EXPECT_NEAR(e.high - e.value, 1.959964 * 74.40238 / std::sqrt(8.0), 1e-3);
  EXPECT_DOUBLE_EQ(e.value - e.low, e.high - e.value);
  const std::vector<double> one{4};
  EXPECT_EQ(qk::mean_estimate(one).low, 4);
  EXPECT_EQ(qk::mean_estimate(std::vector<double>{}).value, 0);
}

TEST(McNemar, ExactBinomialTail) {
  // binom.test(1, 10)$p.value = 0.02148438 (= 2 * 11 / 1024)
  EXPECT_NEAR(qk::exact_mcnemar_p(1, 9), 22.0 / 1024, 1e-12);
  EXPECT_NEAR(qk::exact_mcnemar_p(9, 1), 22.0 / 1024, 1e-12);
  EXPECT_DOUBLE_EQ(qk::exact_mcnemar_p(5, 5), 1.0);
  EXPECT_DOUBLE_EQ(qk::exact_mcnemar_p(0, 0), 1.0);
  // binom.test(0, 6)$p.value = 0.03125
  EXPECT_NEAR(qk::exact_mcnemar_p(0, 6), 0.03125, 1e-12);
  // Large counts stay finite: binom.test(4900, 10000)$p.value = 0.04659
  EXPECT_NEAR(qk::exact_mcnemar_p(4900, 5100), 0.04659, 2e-4);
}

TEST(McNemar, PairsByIdAndIgnoresUnshared) {
  std::map<std::string, double> a{{"p1", 1}, {"p2", 1}, {"p3", 0}, {"p4", 1}, {"only-a", 1}};
  std::map<std::string, double> b{{"p1", 1}, {"p2", 0}, {"p3", 1}, {"p4", 0}, {"only-b", 0}};
  const auto t = qk::paired_test(a, b);
  EXPECT_EQ(t.pairs, 4u);
  EXPECT_EQ(t.only_first, 2u);
  EXPECT_EQ(t.only_second, 1u);
  EXPECT_NEAR(t.p_value, 1.0, 1e-12);
  EXPECT_NE(qk::describe_paired(t, "a", "b").find("no significant difference"), std::string::npos);
  std::map<std::string, double> strong, weak;
  for (int i = 0; i < 20; ++i) strong[std::to_string(i)] = 1, weak[std::to_string(i)] = i < 2 ? 1 : 0;
  const auto s = qk::paired_test(strong, weak);
  EXPECT_TRUE(s.significant());
  EXPECT_NE(qk::describe_paired(s, "strong", "weak").find("strong better"), std::string::npos);
}

TEST(PassAtK, UnbiasedEstimator) {
  EXPECT_DOUBLE_EQ(qk::pass_at_k(10, 0, 1), 0);
  EXPECT_NEAR(qk::pass_at_k(10, 3, 1), 0.3, 1e-12);
  // 1 - C(7,2)/C(10,2) = 1 - 21/45
  EXPECT_NEAR(qk::pass_at_k(10, 3, 2), 1 - 21.0 / 45, 1e-12);
  EXPECT_DOUBLE_EQ(qk::pass_at_k(10, 8, 5), 1);
  EXPECT_DOUBLE_EQ(qk::pass_at_k(4, 1, 4), 1);
}

}  // namespace
