// Half and bfloat16 conversions: exhaustive round trips and hand-picked rounding cases.
#include "quant/fp16.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

namespace mx {
namespace {

uint32_t bits(float f) { return std::bit_cast<uint32_t>(f); }
float from_bits(uint32_t u) { return std::bit_cast<float>(u); }

TEST(Fp16, EveryHalfRoundTrips) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = fp16_to_fp32(static_cast<uint16_t>(h));
    const bool nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0;
    if (nan) {
      ASSERT_TRUE(std::isnan(f)) << std::hex << h;
      ASSERT_TRUE(bits(f) & 0x400000u) << "NaN must come out quiet: " << std::hex << h;
      // The payload survives; a signalling NaN comes back quiet.
      ASSERT_EQ(fp32_to_fp16(f), h | 0x200u) << std::hex << h;
    } else {
      ASSERT_EQ(fp32_to_fp16(f), h) << std::hex << h;
    }
  }
}

TEST(Fp16, KnownValues) {
  EXPECT_EQ(fp16_to_fp32(0x3c00), 1.0f);
  EXPECT_EQ(fp16_to_fp32(0xc000), -2.0f);
  EXPECT_EQ(fp16_to_fp32(0x7bff), 65504.0f);
  EXPECT_EQ(fp16_to_fp32(0x0400), 0x1p-14f);        // smallest normal
  EXPECT_EQ(fp16_to_fp32(0x0001), 0x1p-24f);        // smallest subnormal
  EXPECT_EQ(fp16_to_fp32(0x03ff), 1023 * 0x1p-24f); // largest subnormal
  EXPECT_EQ(bits(fp16_to_fp32(0x8000)), 0x80000000u);
  EXPECT_EQ(fp16_to_fp32(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(fp16_to_fp32(0xfc00), -std::numeric_limits<float>::infinity());
}

TEST(Fp16, RoundsToNearestEven) {
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1.0).
  EXPECT_EQ(fp32_to_fp16(1.0f + 0x1p-11f), 0x3c00);
  EXPECT_EQ(fp32_to_fp16(1.0f + 0x1p-11f + 0x1p-23f), 0x3c01);  // just past halfway
  EXPECT_EQ(fp32_to_fp16(1.0f + 3 * 0x1p-11f), 0x3c02);          // tie from odd 0x3c01 goes up
  EXPECT_EQ(fp32_to_fp16(-(1.0f + 3 * 0x1p-11f)), 0xbc02);
  EXPECT_EQ(fp32_to_fp16(2047.0f / 1024.0f + 0x1p-11f), 0x4000);  // carry into the exponent
  // Overflow: 65519 rounds down to 65504, 65520 (the halfway point) to infinity.
  EXPECT_EQ(fp32_to_fp16(65519.0f), 0x7bff);
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7c00);
  EXPECT_EQ(fp32_to_fp16(-1e10f), 0xfc00);
  // Subnormal results, in units of 2^-24.
  EXPECT_EQ(fp32_to_fp16(0x1p-25f), 0x0000);                  // tie between 0 and 1: 0
  EXPECT_EQ(fp32_to_fp16(0x1p-25f + 0x1p-40f), 0x0001);
  EXPECT_EQ(fp32_to_fp16(3 * 0x1p-25f), 0x0002);              // tie between 1 and 2: 2
  EXPECT_EQ(fp32_to_fp16(5 * 0x1p-25f), 0x0002);              // tie between 2 and 3: 2
  EXPECT_EQ(fp32_to_fp16(0x1p-14f - 0x1p-25f), 0x0400);       // 1023.5 units rounds to normal
  EXPECT_EQ(fp32_to_fp16(0x1p-26f), 0x0000);
  EXPECT_EQ(fp32_to_fp16(-0x1p-26f), 0x8000);
  EXPECT_EQ(fp32_to_fp16(1e-45f), 0x0000);                    // f32 subnormal
  EXPECT_EQ(fp32_to_fp16(-0.0f), 0x8000);
}

TEST(Fp16, InfinityAndNan) {
  EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(fp32_to_fp16(-std::numeric_limits<float>::infinity()), 0xfc00);
  // NaN: quiet, sign kept, top 10 payload bits kept (what vcvtps2ph does).
  EXPECT_EQ(fp32_to_fp16(from_bits(0x7fc00000u)), 0x7e00);
  EXPECT_EQ(fp32_to_fp16(from_bits(0x7f800001u)), 0x7e00);  // payload only in dropped bits
  EXPECT_EQ(fp32_to_fp16(from_bits(0xff802000u)), 0xfe01);
  EXPECT_EQ(fp32_to_fp16(from_bits(0x7fa00000u)), 0x7f00);
  EXPECT_EQ(bits(fp16_to_fp32(0x7c01)), 0x7fc02000u);
  EXPECT_EQ(bits(fp16_to_fp32(0xfe00)), 0xffc00000u);
}

// Every finite float must go to a nearest half, ties to even: checked against the two
// neighbouring halves in double precision, on a sweep over the float bit patterns.
TEST(Fp16, SweepIsNearestEven) {
  for (uint64_t u = 0; u < (1ull << 32); u += 4099) {
    const float f = from_bits(static_cast<uint32_t>(u));
    if (!std::isfinite(f) || std::fabs(f) >= 65520.0f) continue;
    const uint16_t h = fp32_to_fp16(f);
    const double v = fp16_to_fp32(h), x = f;
    ASSERT_EQ(std::signbit(v), std::signbit(x));
    const uint16_t mag = h & 0x7fff;
    const double up = mag < 0x7bff ? fp16_to_fp32(static_cast<uint16_t>(mag + 1)) : 65536.0;
    const double down = mag > 0 ? fp16_to_fp32(static_cast<uint16_t>(mag - 1)) : -1.0;
    const double err = std::fabs(std::fabs(x) - std::fabs(v));
    ASSERT_LE(err, std::fabs(std::fabs(x) - up)) << f;
    if (mag > 0) ASSERT_LE(err, std::fabs(std::fabs(x) - down)) << f;
    if (err == std::fabs(std::fabs(x) - up) && err > 0) ASSERT_EQ(mag & 1, 0) << f;
  }
}

TEST(Bf16, EveryBf16RoundTrips) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = bf16_to_fp32(static_cast<uint16_t>(h));
    ASSERT_EQ(bits(f), h << 16);
    const bool nan = (h & 0x7f80) == 0x7f80 && (h & 0x7f) != 0;
    ASSERT_EQ(fp32_to_bf16(f), nan ? (h | 0x40u) : h) << std::hex << h;
  }
}

TEST(Bf16, RoundsToNearestEvenAndQuietsNan) {
  EXPECT_EQ(fp32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(fp32_to_bf16(1.0f + 0x1p-8f), 0x3f80);               // tie to even
  EXPECT_EQ(fp32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);           // tie from odd goes up
  EXPECT_EQ(fp32_to_bf16(1.0f + 0x1p-8f + 0x1p-23f), 0x3f81);
  EXPECT_EQ(fp32_to_bf16(from_bits(0x7f7fffffu)), 0x7f80);       // FLT_MAX rounds to inf
  EXPECT_EQ(fp32_to_bf16(from_bits(0x00018000u)), 0x0002);       // subnormals are kept
  EXPECT_EQ(fp32_to_bf16(from_bits(0x7f800001u)), 0x7fc0);       // NaN made quiet
  EXPECT_EQ(fp32_to_bf16(from_bits(0xff810000u)), 0xffc1);
  EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
}

}  // namespace
}  // namespace mx
