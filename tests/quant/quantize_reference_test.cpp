// Quantizers against ggml's reference quantizers, and the error each type may leave.
//
// The digests below are FNV-1a of the bytes ggml's quantize_row_*_ref (ggml-quants.c of
// ggml-org/ggml d99724f, built without -march=native: with FMA contraction its K-quant
// searches round differently) writes for reference_input(48, 1024). Reproduce with a
// program that feeds those rows to the ggml functions and hashes the output.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "quant/quant.h"

namespace mx {
namespace {

// Deterministic input rows of several shapes: the same bytes on every machine.
inline std::vector<float> reference_input(int rows, int n) {
  uint64_t state = 0x9E3779B97F4A7C15ULL;
  auto uniform = [&state] {  // xorshift64*, 24 random bits -> [0, 1)
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return static_cast<float>((state * 2685821657736338717ULL) >> 40) / 16777216.0f;
  };
  auto normal = [&] { return uniform() + uniform() + uniform() + uniform() - 2.0f; };
  std::vector<float> x(static_cast<size_t>(rows) * n);
  for (int r = 0; r < rows; ++r) {
    float* row = x.data() + static_cast<size_t>(r) * n;
    const float scale = 0.001f + 10.0f * uniform();
    for (int i = 0; i < n; ++i) {
      switch (r % 6) {
        case 0: row[i] = normal() * scale; break;                       // centred
        case 1: row[i] = std::fabs(normal()) * scale; break;            // all positive
        case 2: row[i] = -std::fabs(normal()) * scale; break;           // all negative
        case 3: row[i] = normal() * (i % 97 == 0 ? 300.0f : 1.0f); break;  // outliers
        case 4: row[i] = i < 256 ? 0.0f : (i < 288 ? 0.5f : normal()); break;  // zero and flat blocks
        default: row[i] = std::round(normal() * 4.0f) / 4.0f; break;   // a few distinct values
      }
    }
  }
  return x;
}

uint64_t fnv1a(const std::vector<uint8_t>& bytes) {
  uint64_t h = 1469598103934665603ULL;
  for (uint8_t b : bytes) h = (h ^ b) * 1099511628211ULL;
  return h;
}

std::vector<uint8_t> quantize(GgmlType type, const std::vector<float>& x, int64_t n) {
  const size_t rs = row_size(type, n);
  std::vector<uint8_t> out(x.size() / static_cast<size_t>(n) * rs);
  for (size_t r = 0; r < x.size() / static_cast<size_t>(n); ++r)
    quantize_row(type, x.data() + r * n, out.data() + r * rs, n);
  return out;
}

struct GgmlDigest {
  GgmlType type;
  uint64_t digest;
};

class MatchesGgml : public testing::TestWithParam<GgmlDigest> {};

TEST_P(MatchesGgml, ByteForByte) {
  const auto x = reference_input(48, 1024);
  EXPECT_EQ(fnv1a(quantize(GetParam().type, x, 1024)), GetParam().digest);
}

INSTANTIATE_TEST_SUITE_P(
    AllTypes, MatchesGgml,
    testing::Values(GgmlDigest{GgmlType::kQ4_0, 0x9661ce1138ed27b1ULL},
                    GgmlDigest{GgmlType::kQ4_1, 0x25a11deb4992ace2ULL},
                    GgmlDigest{GgmlType::kQ5_0, 0x5904ae0ece803503ULL},
                    GgmlDigest{GgmlType::kQ5_1, 0xc9b8c8efe08da954ULL},
                    GgmlDigest{GgmlType::kQ8_0, 0x1eca906fb6b29d2dULL},
                    GgmlDigest{GgmlType::kQ8_1, 0x976cc7913048a0d8ULL},
                    GgmlDigest{GgmlType::kQ4_K, 0x1985e6e9fb4c38f9ULL},
                    GgmlDigest{GgmlType::kQ5_K, 0x008cd32d6e0ed1abULL},
                    GgmlDigest{GgmlType::kQ6_K, 0xcb1be8e28580e902ULL},
                    // Q2_K, Q3_K: quantize_row_*_ref; IQ4_NL: quantize_iq4_nl without an
                    // importance matrix (what llama-quantize calls), llama.cpp c392e50.
                    GgmlDigest{GgmlType::kQ2_K, 0xd0b38eca5e64e567ULL},
                    GgmlDigest{GgmlType::kQ3_K, 0x7fc4898e81889d7aULL},
                    GgmlDigest{GgmlType::kIQ4_NL, 0xd4be018159d413b6ULL},
                    // MXFP4: quantize_row_mxfp4_ref of llama.cpp 01243c5 (with its
                    // GGML_E8M0_TO_FP32_HALF and kvalues_mxfp4), built alone with gcc -O2.
                    GgmlDigest{GgmlType::kMXFP4, 0x9001503a782db8e8ULL}),
    [](const testing::TestParamInfo<GgmlDigest>& p) { return std::string(type_name(p.param.type)); });

// Root-mean-square error of a round trip relative to the RMS of centred Gaussian rows:
// each bound is ~1.2x the error measured (Q4_0 0.081, Q4_1 0.075, Q5_0 0.041, Q5_1 0.036,
// Q8_0 0.0051, Q4_K 0.068, Q5_K 0.035, Q6_K 0.017, Q2_K 0.282, Q3_K 0.145, IQ4_NL 0.074,
// MXFP4 0.115: a power-of-two scale, no search), so a worse search would fail.
struct ErrorBound {
  GgmlType type;
  double max_relative_rms;
};

class RoundTrip : public testing::TestWithParam<ErrorBound> {};

TEST_P(RoundTrip, ErrorWithinBound) {
  std::vector<float> x = reference_input(48, 1024);
  std::vector<float> centred;
  for (int r = 0; r < 48; r += 6) centred.insert(centred.end(), x.begin() + r * 1024, x.begin() + (r + 1) * 1024);
  const auto q = quantize(GetParam().type, centred, 1024);
  std::vector<float> back(centred.size());
  const size_t rs = row_size(GetParam().type, 1024);
  for (size_t r = 0; r < centred.size() / 1024; ++r)
    dequantize_row(GetParam().type, q.data() + r * rs, back.data() + r * 1024, 1024);
  double err = 0, sig = 0;
  for (size_t i = 0; i < centred.size(); ++i) {
    err += (back[i] - centred[i]) * static_cast<double>(back[i] - centred[i]);
    sig += centred[i] * static_cast<double>(centred[i]);
  }
  const double rel = std::sqrt(err / sig);
  EXPECT_LT(rel, GetParam().max_relative_rms);
  EXPECT_GT(rel, 0.0);  // the data is not exactly representable in any of these types
}

INSTANTIATE_TEST_SUITE_P(
    AllTypes, RoundTrip,
    testing::Values(ErrorBound{GgmlType::kQ4_0, 0.097}, ErrorBound{GgmlType::kQ4_1, 0.09},
                    ErrorBound{GgmlType::kQ5_0, 0.049}, ErrorBound{GgmlType::kQ5_1, 0.044},
                    ErrorBound{GgmlType::kQ8_0, 0.0062}, ErrorBound{GgmlType::kQ4_K, 0.082},
                    ErrorBound{GgmlType::kQ5_K, 0.042}, ErrorBound{GgmlType::kQ6_K, 0.021},
                    ErrorBound{GgmlType::kQ2_K, 0.34}, ErrorBound{GgmlType::kQ3_K, 0.175},
                    ErrorBound{GgmlType::kIQ4_NL, 0.089}, ErrorBound{GgmlType::kMXFP4, 0.138}),
    [](const testing::TestParamInfo<ErrorBound>& p) { return std::string(type_name(p.param.type)); });

TEST(KQuantize, ZeroRowsGiveZeroBlocks) {
  const std::vector<float> zeros(512, 0.0f);
  for (GgmlType t : {GgmlType::kQ2_K, GgmlType::kQ3_K, GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K,
                     GgmlType::kIQ4_NL, GgmlType::kMXFP4}) {
    std::vector<uint8_t> q = quantize(t, zeros, 512);
    std::vector<float> back(512, 1.0f);
    dequantize_row(t, q.data(), back.data(), 512);
    for (float v : back) ASSERT_EQ(v, 0.0f) << type_name(t);
  }
}

TEST(KQuantize, SixBitScalesSurviveThePacking) {
  // Sub-blocks of very different magnitude use the whole 6-bit range of scales and mins,
  // whose top bits live in the spare bits of other bytes; dequantizing must recover
  // each sub-block's magnitude.
  std::vector<float> x(256);
  for (int s = 0; s < 8; ++s)
    for (int i = 0; i < 32; ++i) x[32 * s + i] = static_cast<float>((s + 1) * (s + 1)) * (i % 7 - 2.5f) / 10.0f;
  for (GgmlType t : {GgmlType::kQ4_K, GgmlType::kQ5_K}) {
    std::vector<uint8_t> q = quantize(t, x, 256);
    std::vector<float> back(256);
    dequantize_row(t, q.data(), back.data(), 256);
    for (int s = 0; s < 8; ++s) {
      double err = 0, sig = 0;
      for (int i = 0; i < 32; ++i) {
        err += std::pow(back[32 * s + i] - x[32 * s + i], 2);
        sig += std::pow(x[32 * s + i], 2);
      }
      EXPECT_LT(std::sqrt(err / sig), s < 2 ? 0.5 : 0.1) << type_name(t) << " sub-block " << s;
    }
  }
}

}  // namespace
}  // namespace mx
