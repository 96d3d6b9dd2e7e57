#include "heads/interval.hpp"

#include <algorithm>
#include <cmath>

namespace qk::heads {

namespace {
constexpr double kZ = 1.959963984540054;  // two-sided 95%
}

Interval wilson_interval(double successes, std::size_t trials) {
  if (trials == 0) return {};
  const double n = static_cast<double>(trials), p = successes / n, z2 = kZ * kZ;
  const double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half = kZ * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n);
  return {p, std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

Interval mean_interval(std::span<const double> values) {
  if (values.empty()) return {};
  const double n = static_cast<double>(values.size());
  double mean = 0;
  for (double v : values) mean += v / n;
  if (values.size() < 2) return {mean, mean, mean};
  double ss = 0;
  for (double v : values) ss += (v - mean) * (v - mean);
  const double half = kZ * std::sqrt(ss / (n - 1) / n);
  return {mean, mean - half, mean + half};
}

}  // namespace qk::heads
