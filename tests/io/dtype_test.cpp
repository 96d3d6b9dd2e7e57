#include "io/dtype.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <random>

#include <gtest/gtest.h>

namespace qk {
namespace {

float from_bits(std::uint32_t b) { return std::bit_cast<float>(b); }

TEST(DType, Bf16RoundsToNearestTiesToEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3F80);
  // 1 + 2^-8 lies exactly between bf16 1.0 (even) and 1 + 2^-7 (odd): ties go to even.
  EXPECT_EQ(f32_to_bf16(from_bits(0x3F808000)), 0x3F80);
  // 1 + 3*2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even).
  EXPECT_EQ(f32_to_bf16(from_bits(0x3F818000)), 0x3F82);
  EXPECT_EQ(f32_to_bf16(from_bits(0x3F808001)), 0x3F81);  // just above the tie rounds up
  EXPECT_EQ(f32_to_bf16(-2.0f), 0xC000);
  EXPECT_EQ(f32_to_bf16(INFINITY), 0x7F80);
  EXPECT_EQ(f32_to_bf16(from_bits(0x7F7FFFFF)), 0x7F80);  // FLT_MAX rounds to inf in bf16
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
  EXPECT_EQ(f32_to_bf16(from_bits(0x00010000)), 0x0001);  // subnormals keep their bits
}

TEST(DType, Bf16MatchesTheBitTrickOnRandomFloats) {
  // The usual reference: add 0x7FFF + lsb and truncate (valid for finite values).
  std::mt19937 rng(7);
  for (int i = 0; i < 200000; ++i) {
    std::uint32_t b = rng();
    float f = from_bits(b);
    if (!std::isfinite(f)) continue;
    std::uint32_t expected = (b + 0x7FFF + ((b >> 16) & 1)) >> 16;
    ASSERT_EQ(f32_to_bf16(f), expected) << std::hex << b;
  }
}

TEST(DType, F16RoundTripAndRounding) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3C00);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);  // halfway to the next binade rounds to inf
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);   // smallest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);   // half of it: tie to even (zero)
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);   // 1.5 ulp: tie to even (2)
  for (std::uint32_t h = 0; h < 0x7C00; ++h) ASSERT_EQ(f32_to_f16(f16_to_f32(static_cast<std::uint16_t>(h))), h);
}

TEST(DType, F64ToBf16RoundsOnceNotTwice) {
  // x = 1 + 2^-8 + 2^-40: above the bf16 tie, so it rounds up; rounding to f32 first would land
  // exactly on the tie (1 + 2^-8) and then go down to even.
  double x = 1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -40);
  std::byte src[8], dst[2];
  std::memcpy(src, &x, 8);
  convert_dtype(DType::F64, src, DType::BF16, dst);
  std::uint16_t out;
  std::memcpy(&out, dst, 2);
  EXPECT_EQ(out, 0x3F81);
}

TEST(DType, Fp8Decoding) {
  EXPECT_EQ(f8e4m3_to_f32(0x38), 1.0f);
  EXPECT_EQ(f8e4m3_to_f32(0x7E), 448.0f);  // largest finite of E4M3FN
  EXPECT_TRUE(std::isnan(f8e4m3_to_f32(0x7F)));
  EXPECT_EQ(f8e5m2_to_f32(0x3C), 1.0f);
  EXPECT_TRUE(std::isinf(f8e5m2_to_f32(0x7C)));
}

TEST(DType, ConvertRejectsIntegerTargets) {
  std::byte src[4] = {}, dst[4] = {};
  EXPECT_THROW(convert_dtype(DType::F32, src, DType::I32, dst), std::exception);
}

}  // namespace
}  // namespace qk
