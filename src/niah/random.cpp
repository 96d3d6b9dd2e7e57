#include "niah/random.hpp"

#include <unordered_set>

namespace qk::niah {

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t fnv1a64(std::string_view text) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) hash = (hash ^ c) * 0x100000001b3ULL;
  return hash;
}

// Every part goes through a full 64-bit finalizer before it meets the state, and the state through
// another after it: h' = fmix(h ^ fmix(part + k * golden)). Both steps are bijections, so two tuples that
// differ in one part always differ in the result. The first version XORed the raw parts into a state that
// splitmix only offsets by a constant, so (seed, index) pairs whose low bits differ alike collided: seed 7
// gave seed 42's samples, permuted (generator version 1; see kGeneratorVersion).
std::uint64_t mix_seed(std::initializer_list<std::uint64_t> parts) {
  // MurmurHash3's fmix64 (Appleby 2011): a bijection with full avalanche.
  auto fmix64 = [](std::uint64_t z) {
    z = (z ^ (z >> 33)) * 0xff51afd7ed558ccdULL;
    z = (z ^ (z >> 33)) * 0xc4ceb9fe1a85ec53ULL;
    return z ^ (z >> 33);
  };
  std::uint64_t state = 0x6a09e667f3bcc908ULL;
  std::uint64_t position = 0;
  for (std::uint64_t part : parts) state = fmix64(state ^ fmix64(part + ++position * 0x9e3779b97f4a7c15ULL));
  return state;
}

static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

Rng::Rng(std::uint64_t seed) {
  for (auto& word : s_) word = splitmix64(seed);
}

std::uint64_t Rng::next() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

// Lemire (2019), "Fast random integer generation in an interval": multiply, and reject the few
// low products that would make some outcomes more likely than others.
std::uint64_t Rng::below(std::uint64_t n) {
  unsigned __int128 product = static_cast<unsigned __int128>(next()) * n;
  auto low = static_cast<std::uint64_t>(product);
  if (low < n) {
    const std::uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      product = static_cast<unsigned __int128>(next()) * n;
      low = static_cast<std::uint64_t>(product);
    }
  }
  return static_cast<std::uint64_t>(product >> 64);
}

std::int64_t Rng::between(std::int64_t low, std::int64_t high) {
  return low + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(high - low) + 1));
}

double Rng::unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

std::vector<std::size_t> Rng::sample(std::size_t n, std::size_t k) {
  std::vector<std::size_t> picked;
  picked.reserve(k);
  if (k * 4 >= n) {  // dense: partial Fisher-Yates over the whole range
    std::vector<std::size_t> pool(n);
    for (std::size_t i = 0; i < n; ++i) pool[i] = i;
    for (std::size_t i = 0; i < k; ++i) {
      std::swap(pool[i], pool[i + below(n - i)]);
      picked.push_back(pool[i]);
    }
    return picked;
  }
  std::unordered_set<std::size_t> seen;  // sparse: redraw on collision
  while (picked.size() < k) {
    std::size_t value = below(n);
    if (seen.insert(value).second) picked.push_back(value);
  }
  return picked;
}

}  // namespace qk::niah
