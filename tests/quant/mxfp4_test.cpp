// MXFP4: blocks derived by hand from ggml's quantize_row_mxfp4_ref (e = floor(log2 amax)
// - 2 + 127, then per element the first of the nearest codes), the scale table, round
// trips, and the extremes of the exponent.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "quant/quant.h"

namespace mx {
namespace {

// The codes' values at scale d = 0.5 (e = 127): kMXFP4Values * 0.5, i.e. E2M1 itself.
//   index: 0  1    2  3    4  5  6  7 | 8   9     10  11    12  13  14  15
//   value: 0  0.5  1  1.5  2  3  4  6 | -0  -0.5  -1  -1.5  -2  -3  -4  -6
TEST(MXFP4, HandBlockTiesKeepTheFirstCode) {
  float x[32] = {};
  // amax = 6: log2(6) = 2.58, floor 2, e = 2 - 2 + 127 = 127, d = 2^(127 - 128) = 0.5.
  x[0] = 6.0f;     // exact: index 7
  x[16] = 1.75f;   // 1.5 (3) and 2 (4) equally near: the first, 3   -> byte 0 = 0x37
  x[1] = -6.0f;    // index 15
  x[17] = -3.5f;   // -3 (13) and -4 (14) equally near: 13           -> byte 1 = 0xdf
  x[2] = 0.25f;    // 0 (0) and 0.5 (1) equally near: 0
  x[18] = 0.1f;    // 0                                              -> byte 2 = 0x00
  x[3] = -0.25f;   // +0 (0), -0.5 (9) equally near: 0 (also before -0, index 8)
  x[19] = -5.5f;   // -6 (15), 0.5 away; -4 is 1.5 away               -> byte 3 = 0xf0
  x[4] = 0.75f;    // 0.5 (1) and 1 (2): 1                            -> byte 4 = 0x01
  x[5] = 2.5f;     // 2 (4) and 3 (5): 4                              -> byte 5 = 0x04
  x[6] = 5.0f;     // 4 (6) and 6 (7): 6                              -> byte 6 = 0x06
  x[7] = 5.1f;     // nearer 6: 7                                     -> byte 7 = 0x07
  x[8] = -1.25f;   // -1 (10) and -1.5 (11): 10                       -> byte 8 = 0x0a
  x[9] = -0.0f;    // +0 and -0 are both exact: the first, 0          -> byte 9 = 0x00
  BlockMXFP4 b;
  std::memset(&b, 0xee, sizeof(b));
  quantize_row_mxfp4(x, &b, 32);
  EXPECT_EQ(b.e, 127);
  const uint8_t want[16] = {0x37, 0xdf, 0x00, 0xf0, 0x01, 0x04, 0x06, 0x07, 0x0a, 0, 0, 0, 0, 0, 0, 0};
  for (int j = 0; j < 16; ++j) EXPECT_EQ(b.qs[j], want[j]) << j;

  float back[32];
  dequantize_row_mxfp4(&b, back, 32);
  const float values[32] = {6, -6, 0, 0, 0.5f, 2, 4, 6, -1, 0, 0, 0, 0, 0, 0, 0,
                            1.5f, -3, 0, -6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  for (int j = 0; j < 32; ++j) EXPECT_EQ(back[j], values[j]) << j;
}

TEST(MXFP4, ExponentFollowsTheLargestMagnitude) {
  struct Case {
    float amax;
    int e;
  } cases[] = {
      {8.0f, 128},              // log2 = 3 exactly: d = 1, codes are kMXFP4Values themselves
      {7.99f, 127},             // just below: floor 2
      {-8.0f, 128},             // the sign does not matter
      {1.0f, 125},              // 0 - 2 + 127
      {1e-3f, 115},             // log2 = -9.97, floor -10
      {0x1p-125f, 0},           // the smallest exponent ggml defines
      {0x1p-124f, 1},
      {0x1.fffffep9f, 135},     // log2 = 10 - 1.7e-7, which log2f rounds to 10 (ggml too)
      {0x1.fffffep127f, 253},   // FLT_MAX: log2f rounds to 128; the largest e a finite block gets
      {0x1p-130f, 0},           // below 2^-125 ggml's cast is undefined: clamped to 0
      {std::numeric_limits<float>::denorm_min(), 0},
  };
  for (const Case& c : cases) {
    float x[32] = {};
    x[5] = c.amax;
    x[20] = c.amax / 3;
    BlockMXFP4 b;
    quantize_row_mxfp4(x, &b, 32);
    EXPECT_EQ(b.e, c.e) << c.amax;
  }
  // amax = 8 at d = 1: 8 is index 6, 8 / 3 = 2.67 nearest 3 (index 3).
  float x[32] = {};
  x[0] = 8.0f;
  x[16] = 8.0f / 3;
  BlockMXFP4 b;
  quantize_row_mxfp4(x, &b, 32);
  EXPECT_EQ(b.qs[0], 0x36);
}

TEST(MXFP4, ScaleTableIsHalfThePowerOfTwo) {
  for (int e = 0; e < 255; ++e) EXPECT_EQ(kE8M0Half.v[e], std::ldexp(1.0f, e - 128)) << e;
  EXPECT_EQ(kE8M0Half.v[0], 0x1p-128f);  // a float subnormal, not zero
  EXPECT_EQ(kE8M0Half.v[254], 0x1p126f);
  EXPECT_EQ(kE8M0Half.v[255], 0x1p127f);  // ggml's reading of the OCP NaN code
}

TEST(MXFP4, ZeroBlocksAreZerosNotNaN) {
  float x[64] = {};
  x[40] = -0.0f;
  BlockMXFP4 b[2];
  std::memset(b, 0xff, sizeof(b));
  quantize_row_mxfp4(x, b, 64);
  for (const BlockMXFP4& blk : b) {
    EXPECT_EQ(blk.e, 0);
    for (uint8_t q : blk.qs) EXPECT_EQ(q, 0);
  }
  float back[64];
  dequantize_row_mxfp4(b, back, 64);
  for (float v : back) {
    EXPECT_EQ(v, 0.0f);
    EXPECT_FALSE(std::signbit(v));
  }
}

TEST(MXFP4, ExtremeExponentsDequantizeExactly) {
  BlockMXFP4 b[2];
  b[0].e = 0;
  b[1].e = 254;
  for (int j = 0; j < 16; ++j) b[0].qs[j] = b[1].qs[j] = static_cast<uint8_t>(j | (15 - j) << 4);
  float back[64];
  dequantize_row_mxfp4(b, back, 64);
  for (int j = 0; j < 16; ++j) {
    // e = 0: codes times 2^-128, subnormal but exact (at most 12 * 2^-128).
    EXPECT_EQ(back[j], std::ldexp(static_cast<float>(kMXFP4Values[j]), -128)) << j;
    EXPECT_EQ(back[j + 16], std::ldexp(static_cast<float>(kMXFP4Values[15 - j]), -128)) << j;
    // e = 254: 2^126 per unit; codes of magnitude 4 and up exceed FLT_MAX, as in ggml.
    EXPECT_EQ(back[32 + j], static_cast<float>(kMXFP4Values[j]) * 0x1p126f) << j;
  }
  EXPECT_EQ(back[32 + 3], 0x1.8p127f);  // 3 * 2^126, finite
  EXPECT_EQ(back[32 + 4], std::numeric_limits<float>::infinity());
  EXPECT_EQ(back[32 + 15], -std::numeric_limits<float>::infinity());
}

TEST(MXFP4, InfinityAndNaNStayInRange) {
  // Not weights a converter writes, but the exponent must stay a defined byte.
  float x[32] = {};
  x[3] = std::numeric_limits<float>::infinity();
  x[4] = 1.0f;
  BlockMXFP4 b;
  quantize_row_mxfp4(x, &b, 32);
  EXPECT_EQ(b.e, 254);
  x[3] = std::numeric_limits<float>::quiet_NaN();  // skipped by max |x|, as in ggml
  quantize_row_mxfp4(x, &b, 32);
  EXPECT_EQ(b.e, 125);
  EXPECT_EQ(b.qs[3] & 0x0f, 0);  // no code is nearer than another to NaN: the first
}

TEST(MXFP4, RoundTripStaysWithinHalfAStep) {
  // Each element lands on the nearest code, so its error is at most half the gap between
  // neighbouring codes at its magnitude, and at most 1 unit (d) for the saturated top.
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const int64_t n = 32 * 64;
  std::vector<float> x(n);
  for (int64_t i = 0; i < n; ++i) x[i] = dist(rng) * std::ldexp(1.0f, static_cast<int>(i / 32) % 40 - 20);
  std::vector<BlockMXFP4> q(n / 32);
  quantize_row_mxfp4(x.data(), q.data(), n);
  std::vector<float> back(n);
  dequantize_row(GgmlType::kMXFP4, q.data(), back.data(), n);
  for (int64_t i = 0; i < n; ++i) {
    const float d = kE8M0Half.v[q[i / 32].e];  // one unit of kMXFP4Values
    const float a = std::fabs(x[i]) / d;       // in [0, 16) by the choice of e
    const float gap = a <= 4 ? 1 : a <= 8 ? 2 : 4;
    EXPECT_LE(std::fabs(back[i] - x[i]), (a > 12 ? a - 12 : gap / 2) * d) << i;
  }
}

TEST(MXFP4, GenericApiKnowsTheType) {
  EXPECT_TRUE(can_quantize(GgmlType::kMXFP4));
  EXPECT_TRUE(can_dequantize(GgmlType::kMXFP4));
  EXPECT_EQ(type_name(GgmlType::kMXFP4), "MXFP4");
  EXPECT_EQ(type_from_name("mxfp4"), GgmlType::kMXFP4);
  ASSERT_TRUE(type_traits(39).has_value());
  EXPECT_EQ(type_traits(39)->block_size, 32u);
  EXPECT_EQ(type_traits(39)->type_size, 17u);
  EXPECT_EQ(row_size(GgmlType::kMXFP4, 2880), 90u * 17);  // a gpt-oss row
}

}  // namespace
}  // namespace mx
