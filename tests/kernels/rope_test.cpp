// Rope angles against their definition computed in double: plain, with frequency factors,
// linearly scaled, and YaRN's ramp between scaled and unscaled pairs with its magnitude.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/ops.h"

namespace mx {
namespace {

// The angle and magnitude of pair i, from the formulas (not from the float recurrences).
void expected_angle(const ops::RopeParams& p, int64_t n_rot, int32_t pos, int64_t i, double* angle, double* mag) {
  double extrapolated = pos * std::pow(static_cast<double>(p.freq_base), -2.0 * i / n_rot);
  if (p.freq_factors) extrapolated /= p.freq_factors[i];
  *angle = p.freq_scale * extrapolated;
  *mag = p.attn_factor;
  if (p.ext_factor != 0) {
    const double y = (i - p.corr_low) / std::max(0.001, static_cast<double>(p.corr_high - p.corr_low));
    const double ramp = (1 - std::min(1.0, std::max(0.0, y))) * p.ext_factor;
    *angle = *angle * (1 - ramp) + extrapolated * ramp;
    *mag *= 1 + 0.1 * std::log(1.0 / p.freq_scale);
  }
}

void expect_angles(const ops::RopeParams& p, int64_t n_rot, int32_t pos) {
  std::vector<float> cs(n_rot);
  ops::rope_angles(pos, n_rot, p, cs.data());
  for (int64_t i = 0; i < n_rot / 2; ++i) {
    double angle, mag;
    expected_angle(p, n_rot, pos, i, &angle, &mag);
    // The float recurrence of the angles drifts by a few ulps per pair times the position.
    const double tol = 1e-6 * (1 + pos) * mag;
    EXPECT_NEAR(cs[2 * i], std::cos(angle) * mag, tol) << "pair " << i << " pos " << pos;
    EXPECT_NEAR(cs[2 * i + 1], std::sin(angle) * mag, tol) << "pair " << i << " pos " << pos;
  }
}

TEST(Rope, AnglesFollowTheirDefinition) {
  std::vector<float> factors(32);
  for (size_t i = 0; i < factors.size(); ++i) factors[i] = 1.0f + 0.25f * i;
  for (int32_t pos : {0, 1, 7, 300, 2000}) {
    expect_angles({.freq_base = 10000.0f}, 64, pos);
    expect_angles({.freq_base = 1e6f, .freq_scale = 0.25f}, 64, pos);
    expect_angles({.freq_base = 5e5f, .freq_factors = factors.data()}, 64, pos);
    ops::RopeParams yarn{.freq_base = 1e6f, .freq_scale = 0.25f, .ext_factor = 1.0f, .attn_factor = 0.9f};
    ops::yarn_corr_dims(64, 512, yarn.freq_base, 32.0f, 1.0f, &yarn.corr_low, &yarn.corr_high);
    expect_angles(yarn, 64, pos);
  }
}

TEST(Rope, YarnRampKeepsFastPairsAndScalesSlowOnes) {
  ops::RopeParams p{.freq_base = 10000.0f, .freq_scale = 0.25f, .ext_factor = 1.0f};
  ops::yarn_corr_dims(64, 512, p.freq_base, 32.0f, 1.0f, &p.corr_low, &p.corr_high);
  // The reference's correction dims: n_rot·ln(512 / (beta·2π)) / (2·ln 10000) is 3.25 for
  // beta 32 and 15.3 for beta 1; the ramp runs from the floor of one to the ceiling of the
  // other and is compared with pair indices.
  EXPECT_EQ(p.corr_low, 3.0f);
  EXPECT_EQ(p.corr_high, 16.0f);
  std::vector<float> yarn(64), plain(64), scaled(64);
  const int32_t pos = 1000;
  ops::rope_angles(pos, 64, p, yarn.data());
  ops::rope_angles(pos, 64, {.freq_base = 10000.0f}, plain.data());
  ops::rope_angles(pos, 64, {.freq_base = 10000.0f, .freq_scale = 0.25f}, scaled.data());
  const float mag = 1.0f + 0.1f * std::log(4.0f);
  EXPECT_NEAR(yarn[2], plain[2] * mag, 1e-5);    // pair 1: unscaled angle
  EXPECT_NEAR(yarn[40], scaled[40] * mag, 1e-5);  // pair 20: scaled angle
}

TEST(Rope, RotationPairsDependOnTheStyle) {
  std::vector<float> cs(4);
  ops::rope_angles(1, 4, {.freq_base = 10000.0f}, cs.data());
  std::vector<float> norm = {1, 0, 1, 0}, neox = {1, 1, 0, 0};
  ops::rope_apply(norm.data(), 1, 4, 4, cs.data(), ops::RopeStyle::kNorm);
  ops::rope_apply(neox.data(), 1, 4, 4, cs.data(), ops::RopeStyle::kNeox);
  EXPECT_FLOAT_EQ(norm[0], cs[0]);  // (x0, x1) = (1, 0) turned by pair 0's angle
  EXPECT_FLOAT_EQ(norm[1], cs[1]);
  EXPECT_FLOAT_EQ(neox[0], cs[0]);  // (x0, x2) = (1, 0) turned likewise
  EXPECT_FLOAT_EQ(neox[2], cs[1]);
}

}  // namespace
}  // namespace mx
