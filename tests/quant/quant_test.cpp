// Block formats: hand-derived blocks byte for byte, round-trip error bounds, the generic API.
#include "quant/quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "quant/fp16.h"

namespace mx {
namespace {

std::vector<float> gaussian(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

TEST(Q8_0, HandBlock) {
  // amax = 127 makes d = 127 / 127 = 1 (fp16 0x3c00) and 1/d = 1, so q = round(x), ties
  // away from zero.
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j - 16);
  x[0] = 127.0f;    // -> 127
  x[1] = -2.5f;     // -> -3 (tie, away from zero)
  x[2] = 2.5f;      // -> 3
  x[3] = 0.5f;      // -> 1
  x[4] = -0.5f;     // -> -1
  x[5] = 0.49f;     // -> 0
  x[6] = -126.6f;   // -> -127
  BlockQ8_0 b;
  quantize_row_q8_0(x, &b, 32);
  uint8_t bytes[34];
  std::memcpy(bytes, &b, sizeof(bytes));
  EXPECT_EQ(bytes[0], 0x00);  // d = 0x3c00, little endian
  EXPECT_EQ(bytes[1], 0x3c);
  const int8_t want[7] = {127, -3, 3, 1, -1, 0, -127};
  for (int j = 0; j < 7; ++j) EXPECT_EQ(b.qs[j], want[j]) << j;
  for (int j = 7; j < 32; ++j) EXPECT_EQ(b.qs[j], j - 16) << j;

  float back[32];
  dequantize_row_q8_0(&b, back, 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(back[j], static_cast<float>(b.qs[j]));
}

TEST(Q8_0, ZeroBlockHasZeroScale) {
  float x[32] = {};
  BlockQ8_0 b;
  std::memset(&b, 0xff, sizeof(b));
  quantize_row_q8_0(x, &b, 32);
  EXPECT_EQ(b.d, 0);
  for (int8_t q : b.qs) EXPECT_EQ(q, 0);
}

TEST(Q4_0, HandBlockNegativeExtreme) {
  // The element of largest magnitude is -8, so d = -8 / -8 = 1 (0x3c00), 1/d = 1 and
  // q = min(15, trunc(x + 8.5)).
  float x[32] = {};
  x[0] = -8.0f;   // 0.5 -> 0
  x[1] = 8.0f;    // same magnitude but later: 16.5 -> 16, clamped to 15
  x[2] = 7.0f;    // 15.5 -> 15
  x[3] = -0.6f;   // 7.9 -> 7
  x[4] = 0.5f;    // 9.0 -> 9
  x[5] = -0.5f;   // 8.0 -> 8
  x[16] = 3.2f;   // 11.7 -> 11 (high nibble of byte 0)
  x[17] = -3.0f;  // 5.5 -> 5 (high nibble of byte 1)
  // Every other element is 0 -> 8.5 -> 8.
  BlockQ4_0 b;
  quantize_row_q4_0(x, &b, 32);
  EXPECT_EQ(b.d, 0x3c00);
  const uint8_t want[16] = {0xb0, 0x5f, 0x8f, 0x87, 0x89, 0x88, 0x88, 0x88,
                            0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88};
  for (int j = 0; j < 16; ++j) EXPECT_EQ(b.qs[j], want[j]) << j;

  float back[32];
  dequantize_row_q4_0(&b, back, 32);
  EXPECT_EQ(back[0], -8.0f);
  EXPECT_EQ(back[1], 7.0f);
  EXPECT_EQ(back[16], 3.0f);
  EXPECT_EQ(back[17], -3.0f);
}

TEST(Q4_0, HandBlockPositiveExtreme) {
  // Largest magnitude 16 (positive): d = 16 / -8 = -2 (fp16 0xc000), 1/d = -0.5.
  float x[32] = {};
  x[0] = 16.0f;   // -8 + 8.5 = 0.5 -> 0
  x[1] = -14.0f;  // 7 + 8.5 = 15.5 -> 15
  x[2] = 2.0f;    // -1 + 8.5 = 7.5 -> 7
  x[3] = -3.0f;   // 1.5 + 8.5 = 10 -> 10
  BlockQ4_0 b;
  quantize_row_q4_0(x, &b, 32);
  EXPECT_EQ(b.d, 0xc000);
  EXPECT_EQ(b.qs[0], 0x80);
  EXPECT_EQ(b.qs[1], 0x8f);
  EXPECT_EQ(b.qs[2], 0x87);
  EXPECT_EQ(b.qs[3], 0x8a);
  float back[32];
  dequantize_row_q4_0(&b, back, 32);
  EXPECT_EQ(back[0], 16.0f);   // (0 - 8) * -2
  EXPECT_EQ(back[1], -14.0f);  // (15 - 8) * -2
  EXPECT_EQ(back[4], -0.0f);   // (8 - 8) * -2
}

TEST(Q8_0, RoundTripWithinHalfStep) {
  const int64_t n = 32 * 200;
  auto x = gaussian(n, 1);
  std::vector<BlockQ8_0> q(n / 32);
  quantize_row_q8_0(x.data(), q.data(), n);
  std::vector<float> back(n);
  dequantize_row_q8_0(q.data(), back.data(), n);
  for (int64_t b = 0; b < n / 32; ++b) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * 32 + j]));
    const float d = amax / 127, dh = fp16_to_fp32(q[b].d);
    // Half a step from rounding, plus the stored scale's own rounding times |q| <= 127.
    const float bound = 0.5f * d + 127 * std::fabs(dh - d) + 1e-6f * amax;
    for (int j = 0; j < 32; ++j) ASSERT_LE(std::fabs(back[b * 32 + j] - x[b * 32 + j]), bound);
  }
}

TEST(Q4_0, RoundTripWithinOneStep) {
  const int64_t n = 32 * 200;
  auto x = gaussian(n, 2);
  std::vector<BlockQ4_0> q(n / 32);
  quantize_row_q4_0(x.data(), q.data(), n);
  std::vector<float> back(n);
  dequantize_row_q4_0(q.data(), back.data(), n);
  for (int64_t b = 0; b < n / 32; ++b) {
    float amax = 0, max = 0;
    for (int j = 0; j < 32; ++j)
      if (std::fabs(x[b * 32 + j]) > amax) amax = std::fabs(x[b * 32 + j]), max = x[b * 32 + j];
    const float d = max / -8, dh = fp16_to_fp32(q[b].d);
    for (int j = 0; j < 32; ++j) {
      const float v = x[b * 32 + j], err = std::fabs(back[b * 32 + j] - v);
      // Half a step, except on the far side of the extreme: past 7.5 steps the quant
      // clamps to 7 (at most one step off). |q - 8| <= 8 multiplies the scale's rounding.
      const bool clamped = v / d > 7.5f;
      ASSERT_LE(err, (clamped ? 1.0f : 0.5f) * std::fabs(d) + 8 * std::fabs(dh - d) + 1e-6f * amax)
          << b << " " << j;
    }
  }
}

TEST(Q8_K, HandBlockAndSums) {
  // Largest magnitude -127: iscale = -127 / -127 = 1, d = 1; ties go to even.
  std::vector<float> x(256, 0.0f);
  x[0] = -127.0f;
  x[1] = 2.5f;   // -> 2
  x[2] = 3.5f;   // -> 4
  x[3] = -2.5f;  // -> -2
  x[17] = 100.4f;
  BlockQ8_K b;
  quantize_row_q8_K(x.data(), &b, 256);
  EXPECT_EQ(b.d, 1.0f);
  EXPECT_EQ(b.qs[0], -127);
  EXPECT_EQ(b.qs[1], 2);
  EXPECT_EQ(b.qs[2], 4);
  EXPECT_EQ(b.qs[3], -2);
  EXPECT_EQ(b.qs[17], 100);
  EXPECT_EQ(b.bsums[0], -127 + 2 + 4 - 2);
  EXPECT_EQ(b.bsums[1], 100);
  for (int g = 2; g < 16; ++g) EXPECT_EQ(b.bsums[g], 0);
}

TEST(Q8_K, RoundTripAndZeroBlock) {
  const int64_t n = 256 * 8;
  auto x = gaussian(n, 3);
  std::fill(x.begin() + 256, x.begin() + 512, 0.0f);  // block 1 all zero
  std::vector<BlockQ8_K> q(n / 256);
  quantize_row_q8_K(x.data(), q.data(), n);
  EXPECT_EQ(q[1].d, 0.0f);
  for (int j = 0; j < 256; ++j) EXPECT_EQ(q[1].qs[j], 0);
  for (int g = 0; g < 16; ++g) EXPECT_EQ(q[1].bsums[g], 0);
  std::vector<float> back(n);
  dequantize_row_q8_K(q.data(), back.data(), n);
  for (int64_t b = 0; b < n / 256; ++b) {
    for (int g = 0; g < 16; ++g) {
      int s = 0;
      for (int j = 0; j < 16; ++j) s += q[b].qs[g * 16 + j];
      ASSERT_EQ(q[b].bsums[g], s);
    }
    for (int j = 0; j < 256; ++j)
      ASSERT_LE(std::fabs(back[b * 256 + j] - x[b * 256 + j]), 0.5f * std::fabs(q[b].d) * 1.0001f);
  }
}

// Packs 6-bit scale/min pairs the way llama-quantize does, independently of the unpacker.
void pack_k_scales(const uint8_t sc[8], const uint8_t m[8], uint8_t out[12]) {
  std::memset(out, 0, 12);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      out[j] = sc[j];
      out[j + 4] = m[j];
    } else {
      out[j + 4] = static_cast<uint8_t>((sc[j] & 0xf) | ((m[j] & 0xf) << 4));
      out[j - 4] |= static_cast<uint8_t>((sc[j] >> 4) << 6);
      out[j] |= static_cast<uint8_t>((m[j] >> 4) << 6);
    }
  }
}

TEST(KQuants, ScaleMinUnpacking) {
  std::mt19937 rng(4);
  for (int trial = 0; trial < 1000; ++trial) {
    uint8_t sc[8], m[8], packed[12];
    for (int j = 0; j < 8; ++j) {
      sc[j] = static_cast<uint8_t>(rng() & 63);
      m[j] = static_cast<uint8_t>(rng() & 63);
    }
    pack_k_scales(sc, m, packed);
    for (int j = 0; j < 8; ++j) {
      uint8_t a, b;
      unpack_k_scale_min(packed, j, &a, &b);
      ASSERT_EQ(a, sc[j]);
      ASSERT_EQ(b, m[j]);
    }
  }
}

TEST(KQuants, Q4_KHandBlock) {
  // d = 1, dmin = 0.5; sub-block s has scale s + 1 and min 2s; every quant is s's own
  // pattern (l % 16), so element 32s + l = (s + 1) * (l % 16) - 0.5 * 2s.
  BlockQ4_K b{};
  b.d = 0x3c00;
  b.dmin = 0x3800;
  uint8_t sc[8], m[8];
  for (int s = 0; s < 8; ++s) { sc[s] = static_cast<uint8_t>(s + 1); m[s] = static_cast<uint8_t>(2 * s); }
  pack_k_scales(sc, m, b.scales);
  for (int p = 0; p < 4; ++p)
    for (int l = 0; l < 32; ++l) b.qs[32 * p + l] = static_cast<uint8_t>((l % 16) | ((l % 16) << 4));
  float y[256];
  dequantize_row_q4_K(&b, y, 256);
  for (int s = 0; s < 8; ++s)
    for (int l = 0; l < 32; ++l)
      ASSERT_EQ(y[32 * s + l], static_cast<float>((s + 1) * (l % 16)) - 0.5f * (2 * s)) << s << " " << l;
}

TEST(KQuants, Q5_KHighBit) {
  // As Q4_K with all low nibbles 0: the fifth bit alone gives 16 * scale - min.
  BlockQ5_K b{};
  b.d = 0x3c00;
  b.dmin = 0x0000;
  uint8_t sc[8] = {1, 1, 1, 1, 1, 1, 1, 1}, m[8] = {};
  pack_k_scales(sc, m, b.scales);
  for (int l = 0; l < 32; ++l) b.qh[l] = static_cast<uint8_t>(l % 2 ? 0xaa : 0x55);  // odd l: odd sub-blocks
  float y[256];
  dequantize_row_q5_K(&b, y, 256);
  for (int s = 0; s < 8; ++s)
    for (int l = 0; l < 32; ++l) {
      const bool bit = (l % 2) ? (s % 2 == 1) : (s % 2 == 0);
      ASSERT_EQ(y[32 * s + l], bit ? 16.0f : 0.0f) << s << " " << l;
    }
}

TEST(KQuants, Q6_KHandBlock) {
  // d = 1, scale of sub-block g (16 elements) = g - 8; each 6-bit q = 32 + (element % 8),
  // so element i = (i / 16 - 8) * (i % 8).
  BlockQ6_K b{};
  b.d = 0x3c00;
  for (int g = 0; g < 16; ++g) b.scales[g] = static_cast<int8_t>(g - 8);
  uint8_t q[256];
  for (int i = 0; i < 256; ++i) q[i] = static_cast<uint8_t>(32 + i % 8);
  // Layout: per half h of 128, element 128h + 32r + l (r = 0..3) keeps its low 4 bits in
  // ql[64h + l + 32 (r & 1)] (low nibble for r < 2, high for r >= 2) and its top 2 bits in
  // qh[32h + l] at bit 2r.
  for (int h = 0; h < 2; ++h)
    for (int l = 0; l < 32; ++l)
      for (int r = 0; r < 4; ++r) {
        const uint8_t v = q[128 * h + 32 * r + l];
        uint8_t& ql = b.ql[64 * h + l + 32 * (r & 1)];
        ql |= static_cast<uint8_t>((v & 0xf) << (r >= 2 ? 4 : 0));
        b.qh[32 * h + l] |= static_cast<uint8_t>((v >> 4) << (2 * r));
      }
  float y[256];
  dequantize_row_q6_K(&b, y, 256);
  for (int i = 0; i < 256; ++i) ASSERT_EQ(y[i], static_cast<float>((i / 16 - 8) * (i % 8))) << i;
}

// Q2_K / Q3_K keep element 128h + 32k + l's two low bits at bits 2k of qs[32h + l].
void put_low_bits(uint8_t* qs, int e, int v) {
  qs[32 * (e / 128) + e % 32] |= static_cast<uint8_t>(v << (2 * ((e % 128) / 32)));
}

TEST(KQuants, Q2_KHandBlock) {
  // d = 1, dmin = 0.5; sub-block s (16 elements) has scale s % 16 and min 15 - s; q = e % 4.
  BlockQ2_K b{};
  b.d = 0x3c00;
  b.dmin = 0x3800;
  for (int s = 0; s < 16; ++s) b.scales[s] = static_cast<uint8_t>(s | ((15 - s) << 4));
  for (int e = 0; e < 256; ++e) put_low_bits(b.qs, e, e % 4);
  float y[256];
  dequantize_row_q2_K(&b, y, 256);
  for (int e = 0; e < 256; ++e)
    ASSERT_EQ(y[e], static_cast<float>((e / 16) * (e % 4)) - 0.5f * (15 - e / 16)) << e;
}

TEST(KQuants, Q3_KHandBlock) {
  // d = 1; sub-block s has the 6-bit scale 2s + 1 (stored + 32, low nibbles in bytes 0..7,
  // top 2 bits in bytes 8..11); q = e % 8 - 4 with the third bit in hmask[e % 32], bit e / 32.
  BlockQ3_K b{};
  b.d = 0x3c00;
  for (int s = 0; s < 16; ++s) {
    const int l = 2 * s + 1 + 32;
    b.scales[s % 8] |= static_cast<uint8_t>((l & 0x0f) << (s < 8 ? 0 : 4));
    b.scales[8 + s % 4] |= static_cast<uint8_t>((l >> 4) << (2 * (s / 4)));
  }
  for (int e = 0; e < 256; ++e) {
    put_low_bits(b.qs, e, e % 4);
    if (e % 8 >= 4) b.hmask[e % 32] |= static_cast<uint8_t>(1 << (e / 32));
  }
  float y[256];
  dequantize_row_q3_K(&b, y, 256);
  for (int e = 0; e < 256; ++e) ASSERT_EQ(y[e], static_cast<float>((2 * (e / 16) + 1) * (e % 8 - 4))) << e;
  EXPECT_EQ(q3_k_scale(b.scales, 15), 31);
}

TEST(IQ4_NL, HandBlockAndGrid) {
  // d = 0.5; element j indexes grid entry j % 16 (nibbles packed as in Q4_0).
  BlockIQ4_NL b{};
  b.d = 0x3800;
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  float y[32];
  dequantize_row_iq4_nl(&b, y, 32);
  for (int j = 0; j < 16; ++j) {
    ASSERT_EQ(y[j], 0.5f * kIQ4NLValues[j]);
    ASSERT_EQ(y[j + 16], 0.5f * kIQ4NLValues[15 - j]);
  }
  // A block that lies on the grid comes back exactly.
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = 0.25f * kIQ4NLValues[(j * 7) % 16];
  BlockIQ4_NL q;
  quantize_row_iq4_nl(x, &q, 32);
  dequantize_row_iq4_nl(&q, y, 32);
  for (int j = 0; j < 32; ++j) ASSERT_EQ(y[j], x[j]) << j;
}

TEST(Generic, DispatchMatchesFormatFunctions) {
  const int64_t n = 512;
  auto x = gaussian(n, 5);
  for (GgmlType t : {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ8_0,
                     GgmlType::kQ4_0, GgmlType::kQ8_K}) {
    ASSERT_TRUE(can_quantize(t));
    ASSERT_TRUE(can_dequantize(t));
    std::vector<uint8_t> q(row_size(t, n));
    quantize_row(t, x.data(), q.data(), n);
    std::vector<float> back(n);
    dequantize_row(t, q.data(), back.data(), n);
    double err = 0, norm = 0;
    for (int64_t i = 0; i < n; ++i) {
      err += (back[i] - x[i]) * double(back[i] - x[i]);
      norm += double(x[i]) * x[i];
    }
    // Relative RMS error: 4-bit is the coarsest.
    EXPECT_LT(std::sqrt(err / norm), t == GgmlType::kQ4_0 ? 0.15 : 0.01) << type_name(t);
  }
  std::vector<uint16_t> h(n);
  quantize_row(GgmlType::kF16, x.data(), h.data(), n);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(h[i], fp32_to_fp16(x[i]));
  EXPECT_TRUE(can_quantize(GgmlType::kQ4_K));
  EXPECT_TRUE(can_dequantize(GgmlType::kQ6_K));
  EXPECT_TRUE(can_quantize(GgmlType::kQ2_K));
  EXPECT_TRUE(can_dequantize(GgmlType::kIQ4_NL));
  EXPECT_FALSE(can_quantize(GgmlType::kI8));  // not a weight format: rejected, not converted
  EXPECT_FALSE(can_dequantize(GgmlType::kF64));
}

}  // namespace
}  // namespace mx
