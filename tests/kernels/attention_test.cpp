// The SIMD attention against the scalar reference: grouped heads, every head size the
// models use (and ones the SIMD path hands back to the reference), short and long key
// runs across block boundaries, soft-capping, and scores large enough to need the
// running-max rescale.
#include "kernels/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "kernels/isa_tables.h"
#include "kernels/kernel_table.h"

namespace mx {
namespace {

struct Case {
  int64_t n_q, head_dim, n_keys;
  float softcap;
  float q_scale;  // larger queries give peakier softmaxes
};

std::vector<float> run(AttendFn attend, const Case& c, const std::vector<float>& q,
                       const std::vector<float>& k, const std::vector<float>& v, int64_t k_stride,
                       int64_t v_stride) {
  std::vector<float> out(c.n_q * c.head_dim, -7.0f);  // must be overwritten
  std::vector<float> scratch(attention_scratch_floats(c.n_q, c.n_keys));
  attend({.n_q = c.n_q, .head_dim_k = c.head_dim, .head_dim_v = c.head_dim, .q = q.data(), .k = k.data(),
          .v = v.data(), .k_stride = k_stride, .v_stride = v_stride, .n_keys = c.n_keys,
          .scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim)), .softcap = c.softcap,
          .out = out.data(), .scratch = scratch.data()});
  return out;
}

class AttentionSimd : public ::testing::TestWithParam<const char*> {};

TEST_P(AttentionSimd, MatchesReference) {
  if (!cpu_has(GetParam())) GTEST_SKIP() << GetParam() << " not on this CPU";
  const KernelTable best = table_for(GetParam());
  ASSERT_NE(best.attend, &attend_reference) << "no SIMD attention for " << GetParam();
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<Case> cases;
  for (int64_t n_q : {1, 2, 4, 7, 8, 16, 17})
    for (int64_t dim : {16, 64, 80, 128, 256})
      for (int64_t n_keys : {1, 5, 31, 32, 33, 100, 257})
        cases.push_back({n_q, dim, n_keys, 0.0f, 1.0f});
  cases.push_back({4, 128, 1500, 0.0f, 6.0f});  // peaky: the max moves between blocks
  cases.push_back({2, 256, 300, 50.0f, 8.0f});   // Gemma 2's soft-capping
  cases.push_back({8, 64, 2000, 0.0f, 0.1f});    // nearly uniform over many keys
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "heads " << c.n_q << " dim " << c.head_dim << " keys " << c.n_keys
                                    << " softcap " << c.softcap << " q scale " << c.q_scale);
    const int64_t k_stride = c.head_dim * 3 + 16, v_stride = c.head_dim * 2;  // caches interleave heads
    std::vector<float> q(c.n_q * c.head_dim), k(c.n_keys * k_stride), v(c.n_keys * v_stride);
    for (float& x : q) x = normal(rng) * c.q_scale;
    for (float& x : k) x = normal(rng);
    for (float& x : v) x = normal(rng);
    const auto want = run(&attend_reference, c, q, k, v, k_stride, v_stride);
    const auto got = run(best.attend, c, q, k, v, k_stride, v_stride);
    double max_err = 0;
    for (size_t i = 0; i < want.size(); ++i) max_err = std::max(max_err, std::fabs(double(want[i]) - got[i]));
    // Outputs are convex combinations of N(0,1) values: float reordering and the
    // polynomial exp leave errors near 1e-6.
    EXPECT_LT(max_err, 2e-5);
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, AttentionSimd, ::testing::Values("avx2", "avx512"),
                         [](const auto& info) { return std::string(info.param); });

TEST(Attention, ReferenceIsAWeightedAverageOfValues) {
  // Two keys, one query that matches the first: weights e^s / sum by hand.
  const std::vector<float> q = {1, 0, 0, 0}, k = {2, 0, 0, 0, 0, 0, 0, 0}, v = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<float> out(4), scratch(attention_scratch_floats(1, 2));
  attend_reference({.n_q = 1, .head_dim_k = 4, .head_dim_v = 4, .q = q.data(), .k = k.data(), .v = v.data(),
                    .k_stride = 4, .v_stride = 4, .n_keys = 2, .scale = 0.5f, .out = out.data(),
                    .scratch = scratch.data()});
  const double w0 = std::exp(1.0) / (std::exp(1.0) + 1.0);
  for (int d = 0; d < 4; ++d) EXPECT_NEAR(out[d], w0 * v[d] + (1 - w0) * v[4 + d], 1e-6);
}

}  // namespace
}  // namespace mx
