// The statistics every score qkrestore prints carries: a 95% interval for a proportion, an exact
// paired test for two runs over the same samples, and the unbiased pass@k estimator.
#pragma once
#include <cstddef>
#include <map>
#include <span>
#include <string>

namespace qk {

struct Interval {
  double low = 0, high = 0;  // both in [0, 1]
};

// Wilson score interval (Wilson 1927) at 95%: unlike the normal "p +- 1.96 se" interval it stays inside
// [0, 1] and keeps its coverage at 0/n and n/n, which small evaluation cells often are. `successes` may be
// fractional (a mean of partial scores, as RULER's multi-value NIAH tasks give): the interval then treats
// the mean as a proportion of `trials`, an approximation stated wherever it is printed.
// No trials give no information: [0, 1].
Interval wilson_interval(double successes, std::size_t trials);

// A score with its 95% interval, all three in the score's units.
struct Estimate {
  double value = 0, low = 0, high = 0;
  Estimate scaled(double factor) const { return {value * factor, low * factor, high * factor}; }
};

// successes / trials with its Wilson interval (wilson_interval, the one every report uses); 0 trials: 0 [0, 1].
Estimate proportion_estimate(double successes, std::size_t trials);

// The mean of per-sample values with the normal interval mean +- 1.96 s / sqrt(n) (per-sample differences
// of paired runs, attention mass); one value: [value, value]; none: 0 [0, 0].
Estimate mean_estimate(std::span<const double> values);

// Two runs scored over the same samples: `only_first` samples the first run got right (scored higher)
// and the second did not, `only_second` the reverse. Ties carry no information about which run is better.
struct PairedTest {
  std::size_t pairs = 0;        // samples present in both runs
  std::size_t only_first = 0;   // discordant pairs won by the first run
  std::size_t only_second = 0;  // discordant pairs won by the second run
  double p_value = 1;           // two-sided exact McNemar (binomial sign test on the discordant pairs)
  bool significant(double alpha = 0.05) const { return p_value < alpha; }
};

// Exact McNemar test: under H0 each discordant pair is won by either run with probability 1/2, so
// p = min(1, 2 * P[Binomial(b + c, 1/2) <= min(b, c)]). Exact for any count (log-space sums).
double exact_mcnemar_p(std::size_t only_first, std::size_t only_second);

// Pairs the samples two runs share (by id) and counts who scored higher on each: a score of 1/0 per
// sample gives McNemar's table; partial scores (RULER multi-value tasks) give the sign test, its
// generalisation. Samples only one run has are left out (and the count of pairs says so).
PairedTest paired_test(const std::map<std::string, double>& first, const std::map<std::string, double>& second);

// "no significant difference (p = 0.41)" or "first better (p = 0.003)", for reports and tables.
std::string describe_paired(const PairedTest& test, const std::string& first, const std::string& second);

// Unbiased pass@k from n samples of which c are correct (Chen et al. 2021, "Evaluating Large Language
// Models Trained on Code", eq. 1): 1 - C(n-c, k) / C(n, k), computed as a stable product.
double pass_at_k(std::size_t n, std::size_t c, std::size_t k);

// "73.4 [69.1, 77.3]": a percentage with its 95% interval, one decimal.
std::string format_percent_interval(double percent, const Interval& interval);

}  // namespace qk
