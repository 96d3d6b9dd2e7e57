#include "util/statistics.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace qk {
namespace {
constexpr double kZ95 = 1.959963984540054;  // the 97.5th percentile of the standard normal
}  // namespace

Interval wilson_interval(double successes, std::size_t trials) {
  if (trials == 0) return {0, 1};
  constexpr double z = kZ95;
  const double n = static_cast<double>(trials);
  const double p = std::clamp(successes / n, 0.0, 1.0);
  // centre = (p + z^2/2n) / (1 + z^2/n);  half width = z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2)
  const double denominator = 1 + z * z / n;
  const double centre = (p + z * z / (2 * n)) / denominator;
  const double half = z / denominator * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n));
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

Estimate proportion_estimate(double successes, std::size_t trials) {
  const Interval interval = wilson_interval(successes, trials);
  const double value = trials == 0 ? 0 : std::clamp(successes / static_cast<double>(trials), 0.0, 1.0);
  return {value, interval.low, interval.high};
}

Estimate mean_estimate(std::span<const double> values) {
  if (values.empty()) return {};
  const double n = static_cast<double>(values.size());
  double mean = 0;
  for (double v : values) mean += v / n;
  if (values.size() < 2) return {mean, mean, mean};
  double squares = 0;
  for (double v : values) squares += (v - mean) * (v - mean);
  const double half = kZ95 * std::sqrt(squares / (n - 1) / n);
  return {mean, mean - half, mean + half};
}

double exact_mcnemar_p(std::size_t only_first, std::size_t only_second) {
  const std::size_t n = only_first + only_second;
  if (n == 0) return 1;
  const std::size_t k = std::min(only_first, only_second);
  // P[X <= k] for X ~ Binomial(n, 1/2): sum of C(n, i) 2^-n, each term through lgamma so that n in the
  // millions neither overflows nor underflows before the sum.
  const double log_half_n = -static_cast<double>(n) * std::log(2.0);
  double tail = 0;
  for (std::size_t i = 0; i <= k; ++i) {
    const double log_choose = std::lgamma(static_cast<double>(n) + 1) - std::lgamma(static_cast<double>(i) + 1) -
                              std::lgamma(static_cast<double>(n - i) + 1);
    tail += std::exp(log_choose + log_half_n);
  }
  return std::min(1.0, 2 * tail);
}

PairedTest paired_test(const std::map<std::string, double>& first, const std::map<std::string, double>& second) {
  PairedTest test;
  auto a = first.begin();
  auto b = second.begin();
  while (a != first.end() && b != second.end()) {  // both maps are sorted by id: one merge pass
    if (a->first < b->first) {
      ++a;
    } else if (b->first < a->first) {
      ++b;
    } else {
      ++test.pairs;
      if (a->second > b->second) ++test.only_first;
      if (a->second < b->second) ++test.only_second;
      ++a, ++b;
    }
  }
  test.p_value = exact_mcnemar_p(test.only_first, test.only_second);
  return test;
}

std::string describe_paired(const PairedTest& test, const std::string& first, const std::string& second) {
  if (test.pairs == 0) return "no samples in common";
  if (!test.significant())
    return fmt::format("no significant difference (p = {:.3g}, {} vs {} discordant)", test.p_value, test.only_first,
                       test.only_second);
  const std::string& better = test.only_first > test.only_second ? first : second;
  return fmt::format("{} better (p = {:.3g}, {} vs {} discordant)", better, test.p_value, test.only_first,
                     test.only_second);
}

double pass_at_k(std::size_t n, std::size_t c, std::size_t k) {
  if (k == 0 || n == 0) return 0;
  k = std::min(k, n);
  if (n - c < k) return 1;  // every draw of k holds a correct sample
  // 1 - prod_{i = n-c+1}^{n} (1 - k / i)
  double all_wrong = 1;
  for (std::size_t i = n - c + 1; i <= n; ++i) all_wrong *= 1.0 - static_cast<double>(k) / static_cast<double>(i);
  return 1 - all_wrong;
}

std::string format_percent_interval(double percent, const Interval& interval) {
  return fmt::format("{:.1f} [{:.1f}, {:.1f}]", percent, 100 * interval.low, 100 * interval.high);
}

}  // namespace qk
