// Deterministic random numbers for NIAH generation. The same seed must give byte-identical samples on
// every platform and standard library, which std::uniform_int_distribution and std::shuffle do not
// promise; so the generator and every distribution here are spelled out.
#pragma once
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace qk::niah {

// splitmix64 (Steele, Lea, Flood 2014): advances `state` and returns a well-mixed 64-bit value.
std::uint64_t splitmix64(std::uint64_t& state);

// FNV-1a 64-bit hash of a string, used to derive per-sample seeds from names.
std::uint64_t fnv1a64(std::string_view text);

// Mixes several integers into one seed (order matters).
std::uint64_t mix_seed(std::initializer_list<std::uint64_t> parts);

// xoshiro256** 1.0 (Blackman & Vigna 2018), seeded through splitmix64 as its authors recommend.
class Rng {
 public:
  explicit Rng(std::uint64_t seed);
  std::uint64_t next();
  std::uint64_t below(std::uint64_t n);                   // uniform in [0, n), n > 0
  std::int64_t between(std::int64_t low, std::int64_t high);  // uniform in [low, high], inclusive
  double unit();                                          // uniform in [0, 1), 53 random bits

  // k distinct values of [0, n) in the order drawn (what Python's random.sample returns), k <= n.
  std::vector<std::size_t> sample(std::size_t n, std::size_t k);

  template <typename T>
  void shuffle(std::vector<T>& items) {  // Fisher-Yates, from the back
    for (std::size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[below(i)]);
  }

 private:
  std::uint64_t s_[4];
};

}  // namespace qk::niah
