// 95% intervals for the scores `heads` prints: Wilson's for a proportion (exact-match recall, the
// retrieval score's share of copies), the normal one for a mean of per-sample values (recall gain,
// paired against SFT on the same samples; attention mass).
#pragma once
#include <cstddef>
#include <span>

#include <nlohmann/json.hpp>

namespace qk::heads {

struct Interval {
  double value = 0, low = 0, high = 0;
  nlohmann::json to_json() const { return {{"value", value}, {"low", low}, {"high", high}}; }
};

Interval wilson_interval(double successes, std::size_t trials);
Interval mean_interval(std::span<const double> values);

}  // namespace qk::heads
