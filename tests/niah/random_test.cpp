#include <gtest/gtest.h>

#include <set>

#include "niah/random.hpp"

using qk::niah::Rng;

TEST(NiahRandom, SameSeedSameStreamOtherSeedOtherStream) {
  Rng a(7), b(7), c(8);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    auto x = a.next();
    EXPECT_EQ(x, b.next());
    differs |= x != c.next();
  }
  EXPECT_TRUE(differs);
}

TEST(NiahRandom, BelowStaysInRangeAndCoversItEvenly) {
  Rng rng(1);
  std::vector<int> counts(10, 0);
  for (int i = 0; i < 100000; ++i) {
    auto v = rng.below(10);
    ASSERT_LT(v, 10u);
    ++counts[v];
  }
  // Chi-square with 9 degrees of freedom: 27.9 is the 0.1% tail.
  double chi2 = 0;
  for (int c : counts) chi2 += (c - 10000.0) * (c - 10000.0) / 10000.0;
  EXPECT_LT(chi2, 27.9);
}

TEST(NiahRandom, BetweenIsInclusive) {
  Rng rng(2);
  std::set<std::int64_t> seen;
  for (int i = 0; i < 2000; ++i) seen.insert(rng.between(-2, 2));
  EXPECT_EQ(seen, (std::set<std::int64_t>{-2, -1, 0, 1, 2}));
}

TEST(NiahRandom, SampleGivesDistinctValuesDenseAndSparse) {
  Rng rng(3);
  for (auto [n, k] : {std::pair<std::size_t, std::size_t>{40, 4}, {40, 40}, {1000000, 5}}) {
    auto picked = rng.sample(n, k);
    ASSERT_EQ(picked.size(), k);
    std::set<std::size_t> distinct(picked.begin(), picked.end());
    EXPECT_EQ(distinct.size(), k);
    for (auto v : picked) EXPECT_LT(v, n);
  }
}

TEST(NiahRandom, ShuffleIsAPermutationAndSeedDetermined) {
  std::vector<int> a{0, 1, 2, 3, 4, 5, 6, 7}, b = a;
  Rng(9).shuffle(a);
  Rng(9).shuffle(b);
  EXPECT_EQ(a, b);
  std::vector<int> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST(NiahRandom, MixSeedDependsOnEveryPartAndItsOrder) {
  using qk::niah::mix_seed;
  EXPECT_NE(mix_seed({1, 2, 3}), mix_seed({1, 2, 4}));
  EXPECT_NE(mix_seed({1, 2, 3}), mix_seed({3, 2, 1}));
  EXPECT_EQ(mix_seed({1, 2, 3}), mix_seed({1, 2, 3}));
}
